import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openStateStore } from '../../../src/state/index.js';
import { freePort } from '../../harness/service-process.js';
import { startProsody, type ProsodyServer, type XmppAccount } from '../../harness/prosody.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

/** A `pubsync run` child whose stderr (JSON log lines) is collected as it comes. */
interface RunningDaemon {
  readonly child: ChildProcess;
  readonly stderr: () => string;
  readonly exited: Promise<number | null>;
  /** Resolves once a log line with this msg was written; rejects if the process exits first. */
  logged(msg: string): Promise<Record<string, unknown>>;
}

function run(...args: string[]): RunningDaemon {
  const child = spawn('node', ['bin/pubsync.js', 'run', ...args], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const waiters = new Set<() => void>();
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    for (const waiter of waiters) waiter();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const find = (msg: string): Record<string, unknown> | undefined =>
    stderr
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((line) => line.msg === msg);
  return {
    child,
    stderr: () => stderr,
    exited,
    logged: (msg) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          const line = find(msg);
          if (line) {
            waiters.delete(check);
            resolve(line);
          }
        };
        waiters.add(check);
        check();
        void exited.then((code) => {
          if (waiters.delete(check)) reject(new Error(`exited with ${code} before logging "${msg}":\n${stderr}`));
        });
      }),
  };
}

/** `pubsync run` as a process against a real Prosody: start, drain on SIGTERM, exit codes. */
describe('pubsync run', { timeout: 120_000 }, () => {
  let prosody: ProsodyServer;
  let alice: XmppAccount;
  let dir: string;

  before(async () => {
    prosody = await startProsody({ admins: ['alice@localhost'] });
    alice = await prosody.createAccount('alice');
    dir = await mkdtemp(join(tmpdir(), 'pubsync-run-'));
  });

  after(async () => {
    await prosody?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function config(options: { service?: string; password?: string; db?: string; extra?: string[] } = {}): Promise<string> {
    const file = join(dir, `c-${Math.random().toString(36).slice(2)}.yaml`);
    await writeFile(
      file,
      [
        'replica: { id: 1 }',
        `state: { path: ${join(dir, options.db ?? 'state.db')} }`,
        'log: { level: info }',
        'xmpp:',
        `  service: ${options.service ?? prosody.service}`,
        '  domain: localhost',
        `  jid: ${alice.jid}`,
        `  password: "${options.password ?? alice.password}"`,
        `  pubsubService: ${prosody.pubsubService}`,
        'nodes: [{ name: people }]',
        ...(options.extra ?? []),
        '',
      ].join('\n'),
    );
    return file;
  }

  it('logs ready, drains on SIGTERM and exits 0 with the state database closed cleanly', async () => {
    const daemon = run('--config', await config({ db: 'clean.db' }));
    const ready = await daemon.logged('ready');
    assert.equal(ready.level, 30);
    assert.ok(daemon.child.kill('SIGTERM'));
    assert.equal(await daemon.exited, 0, daemon.stderr());
    const stopping = await daemon.logged('stopping: draining in-flight work');
    assert.equal(stopping.reason, 'received SIGTERM');
    await daemon.logged('stopped');
    assert.doesNotMatch(daemon.stderr(), new RegExp(alice.password));
    // Reopening runs the schema check and a write: the file was left consistent and unlocked.
    const store = openStateStore(join(dir, 'clean.db'));
    try {
      store.setCheckpoint('probe', '1');
      assert.equal(store.getCheckpoint('probe'), '1');
    } finally {
      store.close();
    }
  });

  it('drains on SIGHUP (the terminal went away) as on SIGTERM', async () => {
    const daemon = run('--config', await config({ db: 'hangup.db' }));
    await daemon.logged('ready');
    assert.ok(daemon.child.kill('SIGHUP'));
    assert.equal(await daemon.exited, 0, daemon.stderr());
    const stopping = await daemon.logged('stopping: draining in-flight work');
    assert.equal(stopping.reason, 'received SIGHUP');
  });

  /** A source that ignores the abort signal: draining it never ends, so only a forced exit ends the process. */
  async function stuckSourceConfig(db: string): Promise<string> {
    const plugin = join(dir, 'stuck-source.mjs');
    const api = new URL('src/plugin-api/index.ts', `file://${root}`).href;
    await writeFile(
      plugin,
      [
        `import { definePlugin } from ${JSON.stringify(api)};`,
        `import { z } from ${JSON.stringify(import.meta.resolve('zod'))};`,
        'export const plugins = [definePlugin({',
        "  kind: 'source', name: 'stuck', summary: 'never stops', configSchema: z.object({}).strict(),",
        '  create: () => ({ async *start() { await new Promise(() => {}); } }),',
        '})];',
        '',
      ].join('\n'),
    );
    return config({ db, extra: [`plugins: [${plugin}]`, 'sources: [{ name: stuck, plugin: stuck, options: {} }]'] });
  }

  it('a drain longer than --shutdown-timeout is forced: exit 1, and the log says why', async () => {
    const daemon = run('--config', await stuckSourceConfig('stuck-deadline.db'), '--shutdown-timeout', '1000');
    await daemon.logged('ready');
    assert.ok(daemon.child.kill('SIGTERM'));
    assert.equal(await daemon.exited, 1, daemon.stderr());
    const forced = await daemon.logged('forced exit: in-flight work may be redone at the next start');
    assert.equal(forced.reason, 'draining took longer than 1000 ms (--shutdown-timeout)');
  });

  it('a second signal while draining forces the exit: exit 1', async () => {
    const daemon = run('--config', await stuckSourceConfig('stuck-signal.db'), '--shutdown-timeout', '600000');
    await daemon.logged('ready');
    assert.ok(daemon.child.kill('SIGTERM'));
    await daemon.logged('stopping: draining in-flight work');
    assert.ok(daemon.child.kill('SIGINT'));
    assert.equal(await daemon.exited, 1, daemon.stderr());
    const forced = await daemon.logged('forced exit: in-flight work may be redone at the next start');
    assert.equal(forced.reason, 'received SIGINT again while draining');
  });

  it('SIGINT while still connecting stops what started and exits 0', async () => {
    const port = await freePort();
    const daemon = run('--config', await config({ service: `xmpp://127.0.0.1:${port}`, db: 'interrupted.db' }), '--connect-timeout', '60000');
    await daemon.logged('xmpp connect failed, retrying');
    assert.ok(daemon.child.kill('SIGINT'));
    assert.equal(await daemon.exited, 0, daemon.stderr());
    await daemon.logged('stopped');
  });

  it('a bad config exits 2 before anything starts', async () => {
    const daemon = run('--config', await config({ db: 'never.db', extra: ['colour: blue'] }));
    assert.equal(await daemon.exited, 2, daemon.stderr());
    assert.match(daemon.stderr(), /colour/);
    assert.doesNotMatch(daemon.stderr(), /"msg":"ready"/);
    assert.equal(existsSync(join(dir, 'never.db')), false, 'the state database is not even opened');
  });

  it('an unreachable XMPP server exits 3 at --connect-timeout, stopping what started', async () => {
    const port = await freePort();
    const daemon = run('--config', await config({ service: `xmpp://127.0.0.1:${port}`, db: 'unreachable.db' }), '--connect-timeout', '1500');
    assert.equal(await daemon.exited, 3, daemon.stderr());
    const fatal = await daemon.logged('not started within 1500 ms (--connect-timeout): the XMPP server or a plugin\'s system is unreachable');
    assert.equal(fatal.level, 60);
    await daemon.logged('stopped');
  });

  it('a refused login exits 4 and never logs the password', async () => {
    const password = 'wrong-Secret-7d1f';
    const daemon = run('--config', await config({ password, db: 'refused.db' }), '--connect-timeout', '30000');
    assert.equal(await daemon.exited, 4, daemon.stderr());
    assert.match(daemon.stderr(), /login as alice@localhost failed/);
    assert.doesNotMatch(daemon.stderr(), new RegExp(password));
  });
});
