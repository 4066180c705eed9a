import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The repository root, where `bin/pubsync.js` runs from. */
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the real `pubsync` command line as a child process and collects what it printed. */
export function pubsync(...args: string[]): Promise<CliResult> {
  return pubsyncWithEnv(undefined, ...args);
}

export function pubsyncWithEnv(env: NodeJS.ProcessEnv | undefined, ...args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile('node', ['bin/pubsync.js', ...args], { cwd: repoRoot, ...(env ? { env } : {}) }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}
