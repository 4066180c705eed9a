import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { repoRoot } from '../../../examples/demo/pubsync-process.js';

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd: repoRoot, env }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** Runs the script as an ordinary user: as root through setpriv (nobody), otherwise as we are. */
function asOrdinaryUser(args: readonly string[], env: NodeJS.ProcessEnv): Promise<Run> {
  const script = ['bash', 'scripts/install-deps.sh', ...args];
  if (process.getuid?.() !== 0) return run(script[0] ?? 'bash', script.slice(1), env);
  return run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', ...script], env);
}

/**
 * scripts/install-deps.sh, the first half of the quick start's first command and of CI. Installing
 * for real is what CI does on a fresh machine; here: nothing to do when everything is there, and the
 * exact apt-get line for a user who is not root (dpkg-query replaced by a stub that reports slapd
 * and curl missing: the script's own logic is what is under test).
 */
describe('scripts/install-deps.sh', () => {
  let stubs: string;

  before(async () => {
    stubs = await mkdtemp(join(tmpdir(), 'pubsync-install-deps-'));
    await chmod(stubs, 0o755);
    const stub = join(stubs, 'dpkg-query');
    await writeFile(stub, '#!/bin/sh\ncase "$*" in *" slapd"|*" curl") exit 1;; esac\nprintf "install ok installed"\n');
    await chmod(stub, 0o755);
  });

  after(() => rm(stubs, { recursive: true, force: true }));

  it('does nothing and exits 0 when every package is installed', async () => {
    const result = await run('bash', ['scripts/install-deps.sh', '--no-npm'], process.env);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, '');
  });

  it('tells a user who is not root the exact command for the missing packages, and exits 1', async () => {
    const result = await asOrdinaryUser(['--no-npm'], { ...process.env, PATH: `${stubs}:${process.env['PATH'] ?? ''}` });
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /missing Debian packages: slapd curl\./);
    assert.match(result.stderr, /^ {2}sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y slapd curl$/m);
  });

  it('refuses an unknown argument with exit 2', async () => {
    const result = await run('bash', ['scripts/install-deps.sh', '--colour'], process.env);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /unknown argument --colour/);
  });
});
