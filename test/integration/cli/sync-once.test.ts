import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { startCouchDb, type CouchDb } from '../../harness/couchdb.js';
import { startProsody, type ProsodyServer, type XmppAccount } from '../../harness/prosody.js';
import { freePort, waitUntil } from '../../harness/service-process.js';
import { pubsync, repoRoot } from '../../support/cli.js';
import { startDaemon, type DaemonProcess } from '../../support/daemon-process.js';
import { writeCouchPairConfig } from '../../support/couch-pair-config.js';

const run = promisify(execFile);

/** A foreign client writes to CouchDB: curl, as an application would over HTTP. */
async function curlPut(url: string, body: Record<string, unknown>): Promise<void> {
  const { stdout } = await run('curl', ['-sS', '-X', 'PUT', '-H', 'Content-Type: application/json', '--data-binary', JSON.stringify(body), url]);
  assert.match(stdout, /"ok":true/, stdout);
}

async function curlGet(url: string): Promise<Record<string, unknown> | undefined> {
  const { stdout } = await run('curl', ['-sS', url]);
  const doc = JSON.parse(stdout) as Record<string, unknown>;
  return doc['error'] === 'not_found' ? undefined : doc;
}

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/**
 * `pubsync sync --once` and `--dry-run` as processes, with the CouchDB adapter on the embedded
 * CouchDB-protocol server and a real Prosody: replica A runs (`pubsync run`), replica B only ever
 * syncs once, as a cron job or a laptop would.
 */
describe('pubsync sync --once (CouchDB through Prosody)', { timeout: 240_000 }, () => {
  let prosody: ProsodyServer;
  let couch: CouchDb;
  let a: XmppAccount;
  let b: XmppAccount;
  let dir: string;
  let dbA: string;
  let dbB: string;
  let configA: string;
  let configB: string;
  let daemonA: DaemonProcess;

  function writeConfig(name: string, me: XmppAccount, peer: XmppAccount, replica: number, database: string, level: string): Promise<string> {
    return writeCouchPairConfig(dir, prosody, couch.url, { name, me, peer, replica, database, level });
  }

  before(async () => {
    [prosody, couch] = await Promise.all([startProsody({ admins: ['a@localhost', 'b@localhost'] }), startCouchDb()]);
    [a, b] = await Promise.all([prosody.createAccount('a'), prosody.createAccount('b')]);
    [dbA, dbB] = await Promise.all([couch.createDatabase('site-a'), couch.createDatabase('site-b')]);
    dir = await mkdtemp(join(tmpdir(), 'pubsync-sync-'));
    configA = await writeConfig('a', a, b, 1, dbA, 'debug');
    configB = await writeConfig('b', b, a, 2, dbB, 'info');
  });

  after(async () => {
    if (daemonA) await daemonA.terminate();
    await Promise.all([prosody?.stop(), couch?.stop()]);
    await rm(dir, { recursive: true, force: true });
  });

  /** Resolves once A published at least `count` entries (its debug log says so, feed by feed). */
  async function publishedByA(count: number): Promise<void> {
    const published = (): number => daemonA.lines().reduce((n, l) => n + (l.msg === 'published' ? Number(l['entries']) : 0), 0);
    await waitUntil(`A published ${count} entries`, async () => (published() >= count ? true : undefined), { timeoutMs: 30_000 });
  }

  it('nodes ensure creates B\'s node with its whitelist; nodes list shows it and the partner\'s', async () => {
    const ensured = await pubsync('nodes', 'ensure', '--config', configB);
    assert.equal(ensured.code, 0, ensured.stderr);
    assert.match(ensured.stdout, /^docs-b: created, a@localhost -> member$/m);
    const again = await pubsync('nodes', 'ensure', '--config', configB);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^docs-b: unchanged/m);

    const listed = await pubsync('nodes', 'list', '--config', configB, '--json');
    assert.equal(listed.code, 0, listed.stderr);
    const { nodes } = JSON.parse(listed.stdout) as { nodes: { node: string; exists: boolean; affiliations: Record<string, string>; drift: string[] }[] };
    assert.deepEqual(nodes, [
      {
        node: 'docs-b',
        service: prosody.pubsubService,
        access: 'whitelist',
        members: ['a@localhost'],
        publishers: [],
        exists: true,
        affiliations: { 'a@localhost': 'member' },
        drift: [],
      },
    ]);
  });

  it('B syncs once while A runs: B\'s offline change is published to A, A\'s pending change applied to B, exit 0', async () => {
    // B's node exists before A subscribes to it (as after the test above; idempotent): what B
    // publishes while it syncs reaches A live.
    assert.equal((await pubsync('nodes', 'ensure', '--config', configB)).code, 0);
    // A's change exists before B ever ran: B gets it from A's log by the catch-up IQ.
    await curlPut(`${couch.url}/${dbA}/from-a-1`, { type: 'note', text: 'written on A' });
    daemonA = startDaemon(configA);
    await daemonA.logged('ready', 60_000);
    await publishedByA(1);
    // B's change is made while no daemon of B runs.
    await curlPut(`${couch.url}/${dbB}/from-b-1`, { type: 'note', text: 'written on B, offline' });

    const synced = await pubsync('sync', '--once', '--config', configB, '--source-quiet', '1500');
    assert.equal(synced.code, 0, synced.stderr);
    assert.match(synced.stdout, /^sync done in [\d.]+s: captured 1 entries, published 1 entries, applied 1, skipped 0, conflicts 0, dead-lettered 0$/m);
    // Not a terminal: progress would be plain lines, never a redrawn bar.
    assert.ok(!synced.stdout.includes('\u001b['), 'no terminal control sequences');

    const onB = await curlGet(`${couch.url}/${dbB}/from-a-1`);
    assert.equal(onB?.['text'], 'written on A', 'A\'s pending change was applied to B before the exit');
    await waitUntil('B\'s change on A', async () => ((await curlGet(`${couch.url}/${dbA}/from-b-1`))?.['text'] === 'written on B, offline' ? true : undefined), {
      timeoutMs: 30_000,
    });

    // A daemon runs with A's state database: a sync of the same config refuses to run beside it.
    const beside = await pubsync('sync', '--once', '--config', configA);
    assert.equal(beside.code, 1, beside.stdout);
    assert.match(beside.stderr, /^pubsync sync: a pubsync daemon \(pid \d+\) runs with the state database .*a\.db: it keeps this replica in sync already/m);

    // Nothing new on either side: a second sync applies nothing and publishes nothing.
    const again = await pubsync('sync', '--once', '--config', configB, '--source-quiet', '1500');
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /captured 0 entries, published 0 entries, applied 0,/);
  });

  it('nodes list --partner shows what the peer offers; nodes ensure on a node we do not own is refused with exit 1', async () => {
    const listed = await pubsync('nodes', 'list', '--config', configB, '--partner', a.jid);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^our nodes on pubsub\.localhost:\n {2}docs-b {2}exists {2}access whitelist$/m);
    assert.match(listed.stdout, /^ {4}on the server: a@localhost=member$/m);
    assert.match(listed.stdout, /^offered by pubsub\.localhost:\n {2}docs-a {2}subscribed: from-peer$/m);

    // Drift: a config that adds c as a member. list names the difference, ensure fixes it, and
    // ensuring the original config takes c off again.
    const c = await prosody.createAccount('c');
    const wider = join(dir, 'b-wider.yaml');
    await writeFile(wider, readFileSync(configB, 'utf8').replace(`- { name: docs-b, members: [${a.jid}] }`, `- { name: docs-b, members: [${a.jid}, ${c.jid}] }`));
    const drifted = await pubsync('nodes', 'list', '--config', wider);
    assert.equal(drifted.code, 0, drifted.stderr);
    assert.match(drifted.stdout, /^ {4}differs: c@localhost: no affiliation on the server, configured member$/m);
    const widened = await pubsync('nodes', 'ensure', '--config', wider);
    assert.match(widened.stdout, /^docs-b: c@localhost -> member$/m);
    const narrowed = await pubsync('nodes', 'ensure', '--config', configB);
    assert.match(narrowed.stdout, /^docs-b: removed c@localhost$/m);

    // B configured with A's node: the server refuses B as its owner.
    const stolen = join(dir, 'b-steals.yaml');
    await writeFile(stolen, readFileSync(configB, 'utf8').replace(`- { name: docs-b, members: [${a.jid}] }`, `- { name: docs-a, members: [${b.jid}] }`));
    const refused = await pubsync('nodes', 'ensure', '--config', stolen);
    assert.equal(refused.code, 1, refused.stdout);
    assert.match(refused.stderr, /^pubsync nodes ensure: node docs-a: refused by the server: .*forbidden.*is not its owner/m);
  });

  it('--dry-run shows the diff per object and leaves the sink and the state database untouched', async () => {
    const doc = (await curlGet(`${couch.url}/${dbA}/from-a-1`)) ?? {};
    await curlPut(`${couch.url}/${dbA}/from-a-1`, { ...doc, text: 'edited on A' });
    await curlPut(`${couch.url}/${dbA}/from-a-2`, { type: 'note', text: 'second on A' });
    // A edits B's document too: B's own log holds its old value.
    const docB = (await curlGet(`${couch.url}/${dbA}/from-b-1`)) ?? {};
    await curlPut(`${couch.url}/${dbA}/from-b-1`, { ...docB, text: 'B\'s note, edited on A' });
    await publishedByA(4);

    const stateB = join(dir, 'b.db');
    const filesBefore = readdirSync(dir).sort();
    const hashBefore = sha256(stateB);
    const dry = await pubsync('sync', '--once', '--dry-run', '--config', configB);
    assert.equal(dry.code, 0, dry.stderr);
    // The edited document: its key, the field's old CSN -> new CSN and the new value.
    assert.match(dry.stdout, /^docs-in: ~ urn:uuid:[0-9a-f-]+ \(note, couchdb-id=from-a-1, local key from-a-1\)$/m);
    assert.match(dry.stdout, /^ {4}text: \S+ -> \S+ {2}"edited on A"$/m);
    // The new one: every field, from no CSN.
    assert.match(dry.stdout, /^docs-in: \+ urn:uuid:[0-9a-f-]+ \(note, couchdb-id=from-a-2, new\)$/m);
    assert.match(dry.stdout, /^ {4}text: \(none\) -> \S+ {2}"second on A"$/m);
    // B's own document: the old value from B's outbound log (what B's source captured).
    assert.match(dry.stdout, /^docs-in: ~ urn:uuid:[0-9a-f-]+ \(note, couchdb-id=from-b-1(, local key from-b-1)?\)$/m);
    assert.match(dry.stdout, /^ {4}text: \S+ -> \S+ {2}"B's note, edited on A" {2}\(was "written on B, offline"\)$/m);
    assert.match(dry.stdout, /^dry run done in [\d.]+s: would apply 3,/m);

    assert.equal(sha256(stateB), hashBefore, 'the state database file is byte-identical');
    assert.deepEqual(readdirSync(dir).sort(), filesBefore, 'no -wal, -shm or copy left beside it');
    assert.equal((await curlGet(`${couch.url}/${dbB}/from-a-1`))?.['text'], 'written on A', 'the sink was not written');
    assert.equal(await curlGet(`${couch.url}/${dbB}/from-a-2`), undefined);

    // Beside a running daemon (A, whose database has a WAL): read through SQLite's backup API,
    // under its own XMPP resource, so A keeps its session.
    // (Its subscription left out: B, which A's would catch up from, is not online.)
    const publishOnlyA = join(dir, 'a-publish-only.yaml');
    await writeFile(publishOnlyA, readFileSync(configA, 'utf8').replace(/^subscriptions:\n.*\n/m, ''));
    const downBefore = daemonA.lines().filter((l) => l.msg === 'xmpp stream down').length;
    const besideA = await pubsync('sync', '--once', '--dry-run', '--config', publishOnlyA);
    assert.equal(besideA.code, 0, besideA.stderr);
    assert.match(besideA.stdout, /^dry run: 0 log records wait to be published/m);
    assert.match(besideA.stdout, /^dry run done in [\d.]+s: would apply 0,/m);
    assert.equal(daemonA.lines().filter((l) => l.msg === 'xmpp stream down').length, downBefore, 'A was not displaced');

    // The real sync still has everything to do: the dry run moved no position.
    const real = await pubsync('sync', '--once', '--config', configB, '--source-quiet', '1500');
    assert.equal(real.code, 0, real.stderr);
    assert.match(real.stdout, /applied 3,/);
    assert.equal((await curlGet(`${couch.url}/${dbB}/from-b-1`))?.['text'], 'B\'s note, edited on A');
    assert.equal((await curlGet(`${couch.url}/${dbB}/from-a-1`))?.['text'], 'edited on A');
    assert.equal((await curlGet(`${couch.url}/${dbB}/from-a-2`))?.['text'], 'second on A');
  });

  it('run --dry-run prints each diff as it arrives, exits 0 on SIGTERM and leaves the state database as it was', async () => {
    await curlPut(`${couch.url}/${dbA}/from-a-3`, { type: 'note', text: 'third on A' });
    await publishedByA(5);
    const stateB = join(dir, 'b.db');
    const hashBefore = sha256(stateB);
    const child = spawn(process.execPath, ['bin/pubsync.js', 'run', '--dry-run', '--config', configB], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      let stdout = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      await waitUntil('the diff of from-a-3', async () => (/couchdb-id=from-a-3, new\)$/m.test(stdout) ? true : undefined), { timeoutMs: 60_000 });
      assert.ok(child.kill('SIGTERM'));
      assert.equal(await exited, 0);
      assert.match(stdout, /^dry run: 0 log records wait to be published/m);
      assert.match(stdout, /^ {4}text: \(none\) -> \S+ {2}"third on A"$/m);
    } finally {
      child.kill('SIGKILL');
    }
    assert.equal(sha256(stateB), hashBefore);
    assert.equal(await curlGet(`${couch.url}/${dbB}/from-a-3`), undefined, 'the sink was not written');
  });

  it('fails with exit 1 and names the subscription when the origin is not online', async () => {
    await daemonA.terminate();
    const synced = await pubsync('sync', '--once', '--config', configB, '--source-quiet', '500');
    assert.equal(synced.code, 1, synced.stdout);
    assert.match(synced.stderr, /pubsync sync: incomplete: catch-up failed for from-peer \(node docs-a from a@localhost\/pubsync\)/);
    assert.equal(existsSync(join(dir, 'b.db')), true);
  });

  it('exit codes of run: 3 when the XMPP server cannot be reached within --connect-timeout, 4 for a refused login', async () => {
    const port = await freePort();
    const unreachable = join(dir, 'b-unreachable.yaml');
    await writeFile(unreachable, readFileSync(configB, 'utf8').replace(prosody.service, `xmpp://127.0.0.1:${port}`));
    const down = await pubsync('sync', '--once', '--config', unreachable, '--connect-timeout', '1500');
    assert.equal(down.code, 3, down.stderr);
    assert.match(down.stderr, /^pubsync sync: not started within 1500 ms \(--connect-timeout\)/m);

    const refused = join(dir, 'b-refused.yaml');
    await writeFile(refused, readFileSync(configB, 'utf8').replace(b.password, 'not-the-Password-3c9'));
    const denied = await pubsync('sync', '--once', '--config', refused);
    assert.equal(denied.code, 4, denied.stderr);
    assert.doesNotMatch(denied.stderr, /not-the-Password-3c9/);
  });
});
