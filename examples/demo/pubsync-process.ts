import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startProcess, type ServiceProcess } from '../../test/harness/service-process.js';

/** The repository root: `bin/pubsync.js` runs from here and the example configs live below it. */
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** One JSON log line of a daemon (pino: level, time, msg and the fields). */
export type LogLine = Record<string, unknown> & { readonly msg?: string; readonly level?: number };

/** The last lines kept per daemon, for the error message when it fails: the demo may run for hours. */
const KEPT_LINES = 200;

export interface PubsyncProcess {
  readonly label: string;
  readonly pid: number;
  readonly exited: Promise<number | string>;
  /** Resolves on the `ready` log line; rejects with the last log lines if the daemon exits first. */
  readonly ready: Promise<void>;
  /** Called with every log line as it comes. */
  onLine(listener: (line: LogLine) => void): void;
  /** The last log lines (at most 200), as text. */
  tail(): string;
  /** The last `count` log lines in short: level, message, error message. */
  brief(count: number): string;
  /** SIGTERM (the daemon drains and commits), SIGKILL after graceMs; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | string>;
}

/**
 * `pubsync run --config FILE` as a child process, exactly as a user runs it: the config is a
 * template whose ${NAME}s come from `env`. In its own process group, so a Ctrl-C on the demo's
 * terminal reaches the demo alone, which stops the daemons before the servers they talk to.
 * Stopped by pid (harness plumbing: also killed if the demo itself dies).
 */
export function startPubsync(label: string, configFile: string, env: NodeJS.ProcessEnv, args: readonly string[] = []): PubsyncProcess {
  const proc: ServiceProcess = startProcess(process.execPath, ['bin/pubsync.js', 'run', '--config', configFile, ...args], {
    cwd: repoRoot,
    env,
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const kept: string[] = [];
  const listeners: ((line: LogLine) => void)[] = [];
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    void proc.exited.then((code) => reject(new Error(`${label}: pubsync run exited (${code}) before it was ready:\n${kept.join('\n')}`)));
  });
  // A caller that never awaits `ready` (stopped early) must not see an unhandled rejection.
  ready.catch(() => undefined);
  const stderr = proc.child.stderr;
  if (!stderr) throw new Error('pubsync run started without a stderr pipe');
  createInterface({ input: stderr }).on('line', (text) => {
    kept.push(text);
    if (kept.length > KEPT_LINES) kept.shift();
    const line = parseLine(text);
    if (!line) return;
    if (line.msg === 'ready') markReady();
    for (const listener of listeners) listener(line);
  });
  return {
    label,
    pid: proc.pid,
    exited: proc.exited,
    ready,
    onLine: (listener) => void listeners.push(listener),
    tail: () => kept.join('\n'),
    brief: (count) => kept.slice(-count).map(briefLine).join('\n'),
    async stop(graceMs = 20_000) {
      await proc.stop(graceMs);
      return proc.exited;
    },
  };
}

const levels: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

function briefLine(text: string): string {
  const line = parseLine(text);
  if (!line) return `  ${text}`;
  const err = line['err'] as { message?: string } | undefined;
  return `  ${levels[line.level ?? 0] ?? line.level} ${line.msg ?? ''}${err?.message ? `: ${err.message}` : ''}`;
}

function parseLine(text: string): LogLine | undefined {
  if (!text.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' ? (value as LogLine) : undefined;
  } catch {
    return undefined;
  }
}
