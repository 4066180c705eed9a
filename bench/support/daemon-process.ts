import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { cpuSecondsOf } from './sizes.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

/**
 * A real `pubsync run` child process, as an operator starts it. Its peak RSS comes from the
 * kernel (/proc/<pid>/status VmHWM), so what the bench measures is the daemon alone.
 * PUBSYNC_BENCH_PROFILE=<dir> runs it under `node --cpu-prof` (the profile is written at exit).
 */
export class DaemonProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  /** Resident set size when it logged ready (MB): the floor under the peak. */
  readyRssMb = 0;
  #tail = '';
  #ready = false;
  #waiters = new Set<() => void>();

  private constructor(readonly label: string, configFile: string, swapFiles: string | undefined, args: readonly string[]) {
    const profileDir = process.env['PUBSYNC_BENCH_PROFILE'];
    // One directory per daemon: node writes one profile per thread (main, tsx's loader, workers).
    const profile = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${join(profileDir, label)}`] : [];
    // PUBSYNC_BENCH_SWAP: a prototype fix in place of a source file (see swap-hooks.mjs).
    const swapped = swapFiles ?? process.env['PUBSYNC_BENCH_SWAP'];
    const swap = swapped ? ['--import', './bench/support/swap.mjs'] : [];
    // PUBSYNC_BENCH_NODE_FLAGS: node/V8 flags for every daemon (e.g. a heap cap, to tell GC slack from growth).
    const flags = (process.env['PUBSYNC_BENCH_NODE_FLAGS'] ?? '').split(' ').filter(Boolean);
    this.child = spawn(process.execPath, [...flags, ...profile, ...swap, 'bin/pubsync.js', 'run', '--config', configFile, ...args], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, PUBSYNC_BENCH_SWAP: swapped ?? '' },
    });
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      // Only the tail is kept (for error messages): a long run must not grow the bench's memory.
      this.#tail = (this.#tail + chunk).slice(-20_000);
      if (!this.#ready && this.#tail.includes('"msg":"ready"')) this.#ready = true;
      for (const waiter of this.#waiters) waiter();
    });
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
    void this.exited.then(() => {
      for (const waiter of this.#waiters) waiter();
    });
  }

  /** Writes the config (YAML) into `dir` and starts `pubsync run --config` on it. */
  static async start(label: string, dir: string, config: Record<string, unknown>, options: { swap?: string; args?: readonly string[]; readyTimeoutMs?: number } = {}): Promise<DaemonProcess> {
    const file = join(dir, `${label}.yaml`);
    await writeFile(file, stringify({ log: { level: 'info' }, ...config }), { mode: 0o600 });
    const daemon = new DaemonProcess(label, file, options.swap, options.args ?? []);
    await daemon.ready(options.readyTimeoutMs);
    daemon.readyRssMb = daemon.rssMb();
    return daemon;
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error(`${this.label} has no pid`);
    return this.child.pid;
  }

  ready(timeoutMs = 60_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => finish(new Error(`${this.label}: not ready after ${timeoutMs} ms:\n${this.#tail}`)), timeoutMs);
      const finish = (error?: Error): void => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        if (error) reject(error);
        else resolve();
      };
      const check = (): void => {
        if (this.#ready) finish();
        else if (this.child.exitCode !== null) finish(new Error(`${this.label} exited with ${this.child.exitCode}:\n${this.#tail}`));
      };
      this.#waiters.add(check);
      check();
    });
  }

  /** Peak resident set size so far, in MB (VmHWM). */
  peakRssMb(): number {
    return statusKb(this.pid, 'VmHWM') / 1024;
  }

  rssMb(): number {
    return statusKb(this.pid, 'VmRSS') / 1024;
  }

  /** CPU seconds (user + system) the daemon has used so far. */
  cpuSeconds(): number {
    return cpuSecondsOf(this.pid);
  }

  /** Throws (with the end of its log) if the daemon has exited: a bench must not wait for a dead one. */
  assertRunning(): void {
    if (this.child.exitCode !== null || this.child.signalCode !== null) {
      throw new Error(`${this.label} exited (${this.child.exitCode ?? this.child.signalCode}):\n${this.#tail.slice(-4000)}`);
    }
  }

  logTail(): string {
    return this.#tail;
  }

  /** SIGTERM (a clean drain), by pid; SIGKILL if it has not exited after `timeoutMs`. */
  async stop(timeoutMs = 30_000): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

function statusKb(pid: number, key: string): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${key}:`));
  return Number(/(\d+)/.exec(line ?? '')?.[1] ?? Number.NaN);
}

/** The xmpp section of a daemon config for an account on a harness Prosody. */
export function xmppSection(prosody: { service: string; domain: string; pubsubService: string }, account: { jid: string; password: string }, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { service: prosody.service, domain: prosody.domain, jid: account.jid, password: account.password, pubsubService: prosody.pubsubService, ...extra };
}
