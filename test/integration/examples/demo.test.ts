import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { repoRoot } from '../../../examples/demo/pubsync-process.js';

/** The demo as a user starts it (examples/demo/main.ts, what scripts/demo.sh runs after installing). */
interface DemoRun {
  readonly pid: number;
  output(): string;
  readonly exited: Promise<number | string>;
  /** Resolves once the output contains `text`; rejects if the demo exits first. */
  printed(text: string): Promise<void>;
}

function startDemo(...args: string[]): DemoRun {
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/demo/main.ts', ...args], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error('the demo did not start');
  let output = '';
  const waiters = new Set<() => void>();
  const collect = (chunk: Buffer): void => {
    output += chunk.toString();
    for (const waiter of waiters) waiter();
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  return {
    pid: child.pid,
    output: () => output,
    exited,
    printed: (text) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          if (!output.includes(text)) return;
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
        check();
        void exited.then((code) => {
          if (waiters.delete(check)) reject(new Error(`the demo exited (${code}) before printing "${text}":\n${output}`));
        });
      }),
  };
}

/** Every pid the demo listed (servers, the notes app, the daemons). */
function pidsIn(output: string): number[] {
  return [...output.matchAll(/\bpid (\d+)\b/g)].map((match) => Number(match[1]));
}

function filesDirIn(output: string): string {
  const dir = /^ {2}files {8}(\S+)/m.exec(output)?.[1];
  if (!dir) throw new Error(`the demo printed no files line:\n${output}`);
  return dir;
}

/** With COUCHDB_URL the demo uses that CouchDB and starts none (so lists no pid for it). */
const externalCouch = process.env['COUCHDB_URL'] ? 1 : 0;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('the demo', { timeout: 600_000 }, () => {
  // Seven daemons and five servers on a shared machine: longer than npm test's default per test.
  it('--once runs every example, sees every scripted change arrive, stops everything and exits 0', { timeout: 480_000 }, async () => {
    const demo = startDemo('--once');
    assert.equal(await demo.exited, 0, demo.output());
    const output = demo.output();
    assert.match(output, /every change arrived\./);
    for (const name of ['directory-to-cms', 'couch-multimaster', 'dbus-notes']) assert.match(output, new RegExp(`^== ${name}: `, 'm'));
    assert.match(output, /-> LDAP entry cn=Ann Lee,ou=people,dc=example,dc=org \(ldapsearch\): title: Lead engineer/);
    assert.match(output, /daemons stopped: directory 0, cms 0, site-a 0, site-b 0, site-c 0, notes-app 0, memos 0/);
    const pids = pidsIn(output);
    assert.equal(pids.length, 12 - externalCouch, `5 servers (prosody, couchdb, slapd, dbus-daemon, notes app) and 7 daemons:\n${output}`);
    assert.deepEqual(pids.filter(alive), [], 'nothing left running');
    assert.equal(existsSync(filesDirIn(output)), false, 'temporary files removed');
  });

  it('SIGINT stops the daemons and the servers, leaves no process and no file behind, exits 0', { timeout: 240_000 }, async () => {
    const demo = startDemo('--examples', 'couch-multimaster', '--no-tour');
    await demo.printed('Press Ctrl-C to stop everything.');
    const pids = pidsIn(demo.output());
    assert.equal(pids.length, 5 - externalCouch, `prosody, couchdb and 3 daemons:\n${demo.output()}`);
    assert.deepEqual(pids.filter((pid) => !alive(pid)), [], 'all running before the signal');
    process.kill(demo.pid, 'SIGINT');
    assert.equal(await demo.exited, 0, demo.output());
    assert.match(demo.output(), /daemons stopped: site-a 0, site-b 0, site-c 0/);
    assert.deepEqual(pids.filter(alive), [], 'nothing left running');
    assert.equal(existsSync(filesDirIn(demo.output())), false, 'temporary files removed');
  });
});
