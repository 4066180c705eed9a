import { readFileSync } from 'node:fs';

/**
 * Default sizes keep `npm run bench` within minutes on a small shared machine; PUBSYNC_BENCH_FULL=1
 * (or `npm run bench -- --full <name>`) switches to the sizes issue 11 names.
 */
export const FULL = process.env['PUBSYNC_BENCH_FULL'] === '1' || process.argv.includes('--full');

export function size(quick: number, full: number): number {
  return FULL ? full : quick;
}

/** Also from the environment, to run one size alone: PUBSYNC_BENCH_BACKLOGS=1000000. */
export function sizes(name: string, quick: readonly number[], full: readonly number[]): readonly number[] {
  const given = process.env[name];
  if (given) return given.split(',').map(Number);
  return FULL ? full : quick;
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function perSecond(count: number, startedMs: number, endedMs = performance.now()): number {
  return count / ((endedMs - startedMs) / 1000);
}

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat (clock ticks of 10 ms). */
export function cpuSecondsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** CPU microseconds this process (all its threads) used since `since` (process.cpuUsage()). */
export function cpuMicros(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return used.user + used.system;
}
