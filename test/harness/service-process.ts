import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdtemp, rm, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Shared plumbing for the real-service harnesses: temp dirs, free ports, child processes that are
 * always stopped by pid (on stop(), on process exit, and by a watchdog if the test process is killed).
 */

const live = new Set<ChildProcess>();

process.once('exit', () => {
  for (const child of live) killQuietly(child.pid, 'SIGKILL');
});

function killQuietly(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** A fresh directory under the system temp dir, removed by the caller's stop(). */
export function makeTempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `pubsync-${prefix}-`));
}

export function removeDir(dir: string): Promise<void> {
  return rm(dir, { recursive: true, force: true });
}

/** A port that was free a moment ago; callers retry on a clash, since another process may take it. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port assigned'));
      });
    });
  });
}

export interface ServiceProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves with the exit code (or signal name) once the process has gone. */
  readonly exited: Promise<number | string>;
  /** SIGTERM, then SIGKILL after graceMs. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Spawns a server process and registers it for cleanup. A detached watchdog shell kills the child
 * if this test process dies without running its exit hooks (kill -9 of the runner).
 */
export function startProcess(command: string, args: string[], options: SpawnOptions = {}): ServiceProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'], ...options });
  // Without a listener a failed spawn (missing binary) is an unhandled 'error' that kills the runner.
  let spawnError: Error | undefined;
  child.once('error', (error) => {
    spawnError = error;
  });
  if (child.pid === undefined) throw new Error(`could not start ${command}: ${spawnError?.message ?? 'no pid'}`);
  const pid = child.pid;
  live.add(child);
  // Keep stderr drained so a chatty server never stalls on a full pipe; keep the tail for errors.
  let stderrTail = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderrTail = (stderrTail + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<number | string>((resolve) => {
    // 'close' rather than 'exit': it fires after stderr is drained, so error messages see the last lines.
    child.once('close', (code, signal) => {
      live.delete(child);
      resolve(code ?? signal ?? 'unknown');
    });
  });
  const watchdog = spawn(
    'sh',
    // Kills only when the runner is gone: if the child exited by itself its pid may be reused.
    ['-c', `while kill -0 ${process.pid} 2>/dev/null; do kill -0 ${pid} 2>/dev/null || exit 0; sleep 1; done; kill -9 ${pid} 2>/dev/null`],
    { detached: true, stdio: 'ignore' },
  );
  watchdog.unref();

  let stopping: Promise<void> | undefined;
  const stop = (graceMs = 5000): Promise<void> => {
    stopping ??= (async () => {
      if (child.exitCode !== null || child.signalCode !== null) {
        killQuietly(watchdog.pid, 'SIGKILL');
        return;
      }
      killQuietly(pid, 'SIGTERM');
      const timer = setTimeout(() => killQuietly(pid, 'SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
      killQuietly(watchdog.pid, 'SIGKILL');
    })();
    return stopping;
  };
  Object.defineProperty(child, 'stderrTail', { get: () => stderrTail });
  return { child, pid, exited, stop };
}

/** The last lines a process wrote on stderr, for error messages. */
export function stderrOf(proc: ServiceProcess): string {
  return (proc.child as ChildProcess & { stderrTail?: string }).stderrTail ?? '';
}

/**
 * Waits until `check` returns a value, re-checking every pollMs (a log line or a client probe is the
 * readiness signal; polling is how a file is watched portably).
 * Fails early if the process exits, with the reason.
 */
export async function waitUntil<T>(
  what: string,
  check: () => Promise<T | undefined>,
  options: { proc?: ServiceProcess; timeoutMs?: number; pollMs?: number } = {},
): Promise<T> {
  const { proc, timeoutMs = 15000, pollMs = 20 } = options;
  const deadline = Date.now() + timeoutMs;
  let exitedWith: number | string | undefined;
  void proc?.exited.then((code) => {
    exitedWith = code;
  });
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (exitedWith !== undefined) {
      throw new Error(`${what}: process exited (${exitedWith}) before it was ready. ${proc ? stderrOf(proc) : ''}`);
    }
    if (Date.now() > deadline) throw new Error(`${what}: not ready after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/** Reads a file if it exists; '' otherwise. For log-line readiness checks. */
export async function readIfExists(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return '';
  }
}
