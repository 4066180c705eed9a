import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { repoRoot } from './cli.js';

/**
 * A real `pubsync run` child process for the reliability tests: its JSON log lines (stderr) are
 * collected as they come, it can be awaited on a log line, killed with SIGKILL at any moment, and
 * its resident memory read from /proc. Every process started here is SIGKILLed when the test
 * process exits, so a failing test never leaves a daemon behind.
 */

export interface DaemonProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Parsed JSON log lines so far. */
  lines(): Record<string, unknown>[];
  /** The exit code, or the signal name when killed. */
  readonly exited: Promise<number | string>;
  /** Resolves with the first line whose msg matches; rejects if the process exits first or the deadline passes. */
  logged(msg: string | RegExp, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** SIGKILL, then waits for the exit. */
  kill9(): Promise<void>;
  /** SIGTERM and waits for the exit code. */
  terminate(): Promise<number | string>;
  /** VmRSS in bytes (undefined once the process is gone). */
  rssBytes(): number | undefined;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
});

export interface StartDaemonOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Extra arguments after `run --config FILE`. */
  readonly args?: readonly string[];
  /** A shell prefix such as `ulimit -f 64;` (runs the daemon under /bin/sh). */
  readonly shellPrefix?: string;
  readonly umask?: number;
}

export function startDaemon(configFile: string, options: StartDaemonOptions = {}): DaemonProcess {
  const argv = ['bin/pubsync.js', 'run', '--config', configFile, ...(options.args ?? [])];
  const env = { ...process.env, ...options.env };
  const child =
    options.shellPrefix === undefined && options.umask === undefined
      ? spawn(process.execPath, argv, { cwd: repoRoot, env, stdio: ['ignore', 'ignore', 'pipe'] })
      : spawn(
          '/bin/sh',
          ['-c', `${options.umask === undefined ? '' : `umask ${options.umask.toString(8).padStart(3, '0')};`}${options.shellPrefix ?? ''} exec "$0" "$@"`, process.execPath, ...argv],
          { cwd: repoRoot, env, stdio: ['ignore', 'ignore', 'pipe'] },
        );
  if (child.pid === undefined) throw new Error('could not spawn pubsync run');
  live.add(child);
  let stderr = '';
  let parsedUpTo = 0;
  const parsed: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    for (const waiter of waiters) waiter();
  });
  const exited = new Promise<number | string>((resolve) =>
    child.on('exit', (code, signal) => {
      live.delete(child);
      resolve(signal ?? code ?? -1);
    }),
  );
  const lines = (): Record<string, unknown>[] => {
    const end = stderr.lastIndexOf('\n') + 1;
    for (const line of stderr.slice(parsedUpTo, end).split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        parsed.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // a non-JSON line (a crash trace): kept in stderr() only
      }
    }
    parsedUpTo = end;
    return parsed;
  };
  const matches = (line: Record<string, unknown>, msg: string | RegExp): boolean =>
    typeof line['msg'] === 'string' && (typeof msg === 'string' ? line['msg'] === msg : msg.test(line['msg']));
  const pid = child.pid;
  return {
    child,
    pid,
    stderr: () => stderr,
    lines,
    exited,
    logged: (msg, timeoutMs = 120_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => finish(new Error(`no "${String(msg)}" log line within ${timeoutMs} ms:\n${stderr.slice(-4000)}`)), timeoutMs);
        const finish = (error?: Error, line?: Record<string, unknown>): void => {
          if (!waiters.delete(check)) return;
          clearTimeout(timer);
          if (line) resolve(line);
          else reject(error);
        };
        const check = (): void => {
          const line = lines().find((l) => matches(l, msg));
          if (line) finish(undefined, line);
        };
        waiters.add(check);
        check();
        void exited.then((code) => finish(new Error(`exited with ${code} before logging "${String(msg)}":\n${stderr.slice(-4000)}`)));
      }),
    async kill9() {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
      await exited;
    },
    async terminate() {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
      return exited;
    },
    rssBytes() {
      try {
        const status = readFileSync(`/proc/${pid}/status`, 'utf8');
        const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
        return kb === undefined ? undefined : Number(kb) * 1024;
      } catch {
        return undefined;
      }
    },
  };
}
