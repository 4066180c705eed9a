import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readAdminAddress } from '../../../src/admin/admin-address.js';
import { startCouchDb, type CouchDb } from '../../harness/couchdb.js';
import { startProsody, type ProsodyServer, type XmppAccount } from '../../harness/prosody.js';
import { pubsync } from '../../support/cli.js';
import { startDaemon, type DaemonProcess } from '../../support/daemon-process.js';
import { curl, sample, until } from './curl.js';

const VALIDATION = `function (doc) { if (doc.type === 'secret') { throw({ forbidden: 'secret documents are not allowed here' }); } }`;

/**
 * The admin endpoint of real `pubsync run` processes talking through a real Prosody, with the
 * embedded CouchDB-protocol server as source (site a) and sink (site b); curl is the foreign
 * client for /metrics, /healthz, /readyz and for every CouchDB change.
 */
describe('admin endpoint, live status and dead-letter retry', { timeout: 300_000 }, () => {
  let prosody: ProsodyServer;
  let couch: CouchDb;
  let dir: string;
  let alice: XmppAccount;
  let bob: XmppAccount;
  let dbA: string;
  let dbB: string;
  let configA: string;
  let configB: string;
  let a: DaemonProcess;
  let b: DaemonProcess;
  const running = new Set<DaemonProcess>();

  function start(config: string): DaemonProcess {
    const daemon = startDaemon(config);
    running.add(daemon);
    void daemon.exited.then(() => running.delete(daemon));
    return daemon;
  }

  async function adminUrl(daemon: DaemonProcess): Promise<string> {
    return String((await daemon.logged('admin endpoint listening')).admin);
  }

  async function metrics(daemon: DaemonProcess): Promise<string> {
    const { status, body } = await curl(`${await adminUrl(daemon)}/metrics`);
    assert.equal(status, 200, body);
    return body;
  }

  async function config(name: string, lines: string[]): Promise<string> {
    const file = join(dir, `${name}.yaml`);
    await writeFile(file, [`state: { path: ${join(dir, `${name}.db`)} }`, 'log: { level: info }', ...lines, ''].join('\n'));
    return file;
  }

  function xmpp(account: XmppAccount, room: boolean): string[] {
    return [
      'xmpp:',
      `  service: ${prosody.service}`,
      '  domain: localhost',
      `  jid: ${account.jid}`,
      `  password: "${account.password}"`,
      `  pubsubService: ${prosody.pubsubService}`,
      ...(room ? [`  room: dataset@${prosody.mucService}`] : []),
    ];
  }

  async function docs(db: string): Promise<Record<string, unknown>[]> {
    const { body } = await curl(`${couch.url}/${db}/_all_docs?include_docs=true`);
    return (JSON.parse(body) as { rows: { doc: Record<string, unknown> }[] }).rows.map((row) => row.doc);
  }

  async function putDoc(db: string, id: string, doc: Record<string, unknown>): Promise<void> {
    const { status, body } = await curl(`${couch.url}/${db}/${id}`, '-X', 'PUT', '-H', 'Content-Type: application/json', '-d', JSON.stringify(doc));
    assert.ok(status === 201 || status === 202, body);
  }

  async function removeValidation(db: string): Promise<void> {
    const { body } = await curl(`${couch.url}/${db}/_design/validation`);
    const rev = (JSON.parse(body) as { _rev: string })._rev;
    assert.equal((await curl(`${couch.url}/${db}/_design/validation?rev=${rev}`, '-X', 'DELETE')).status, 200);
  }

  async function deadLetterIds(configFile: string): Promise<number[]> {
    const { code, stdout, stderr } = await pubsync('dlq', 'list', '--config', configFile);
    assert.equal(code, 0, stderr);
    return [...stdout.matchAll(/^ {2}(\d+)\s/gm)].map((m) => Number(m[1]));
  }

  before(async () => {
    prosody = await startProsody({ admins: ['alice@localhost', 'dave@localhost'] });
    alice = await prosody.createAccount('alice');
    bob = await prosody.createAccount('bob');
    couch = await startCouchDb();
    dbA = await couch.createDatabase('site-a');
    dbB = await couch.createDatabase('site-b');
    await putDoc(dbB, '_design/validation', { validate_doc_update: VALIDATION });
    dir = await mkdtemp(join(tmpdir(), 'pubsync-admin-'));
    configA = await config('a', [
      'replica: { id: 1 }',
      ...xmpp(alice, true),
      `sources: [{ name: docs, plugin: couchdb, options: { url: "${couch.url}", database: ${dbA}, longpollTimeoutMs: 1000 } }]`,
      `nodes: [{ name: notes, members: [${bob.jid}] }]`,
    ]);
    configB = await config('b', [
      'replica: { id: 2 }',
      ...xmpp(bob, true),
      `sinks: [{ name: docs-in, plugin: couchdb, options: { url: "${couch.url}", database: ${dbB} } }]`,
      `subscriptions: [{ name: from-a, node: notes, publisher: ${alice.jid}, sink: docs-in }]`,
    ]);
    // a first: it creates the control room and owns it (master); b joins it.
    a = start(configA);
    await a.logged('ready');
    const urlA = await adminUrl(a);
    await until('a to own the control room', async () => {
      const { body } = await curl(`${urlA}/status`);
      return (JSON.parse(body) as { live: { xmpp: { role: string | null } } }).live.xmpp.role === 'master';
    });
    b = start(configB);
    await b.logged('ready');
  });

  after(async () => {
    await Promise.all([...running].map((daemon) => daemon.terminate()));
    await prosody?.stop();
    await couch?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('writes its address owner-only beside the state database; /healthz and /readyz answer 200 once running', async () => {
    const file = join(dir, 'b.db-admin.json');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const address = readAdminAddress(file);
    assert.equal(address?.url, await adminUrl(b));
    assert.equal(address?.pid, b.pid);
    assert.deepEqual(await curl(`${address?.url}/healthz`), { status: 200, body: 'ok\n' });
    const ready = await until('b to be ready', async () => {
      const answer = await curl(`${address?.url}/readyz`);
      return answer.status === 200 && answer;
    });
    assert.equal(ready.body, 'ready\n');
    const foreignHost = await curl(`${address?.url}/healthz`, '-H', 'Host: evil.example');
    assert.equal(foreignHost.status, 403, 'a non-loopback Host (DNS rebinding) is refused');
  });

  it('/metrics counts a real change from capture to apply, per source, node, subscription, sink and peer', async () => {
    const beforeA = await metrics(a);
    const beforeB = await metrics(b);
    const captured0 = sample(beforeA, 'pubsync_changes_captured_total', { source: 'docs' }) ?? 0;
    const applied0 = sample(beforeB, 'pubsync_entries_applied_total', { subscription: 'from-a', sink: 'docs-in' }) ?? 0;
    const received0 = sample(beforeB, 'pubsync_entries_received_total', { subscription: 'from-a', origin: alice.jid }) ?? 0;

    await putDoc(dbA, 'ada', { type: 'note', title: 'Ada Lovelace' });
    const afterB = await until('b to apply the change', async () => {
      const text = await metrics(b);
      return (sample(text, 'pubsync_entries_applied_total', { subscription: 'from-a', sink: 'docs-in' }) ?? 0) > applied0 && text;
    });
    assert.ok((await docs(dbB)).some((doc) => doc.title === 'Ada Lovelace'), 'the document reached site b');
    assert.equal(sample(afterB, 'pubsync_entries_received_total', { subscription: 'from-a', origin: alice.jid }), received0 + 1);
    assert.equal(sample(afterB, 'pubsync_ready'), 1);
    assert.equal(sample(afterB, 'pubsync_xmpp_connected'), 1);
    assert.equal(sample(afterB, 'pubsync_inbound_queue_depth', { subscription: 'from-a' }), 0);
    assert.equal(sample(afterB, 'pubsync_subscription_caught_up', { subscription: 'from-a' }), 1);
    assert.equal(sample(afterB, 'pubsync_peer_online', { peer: alice.jid, role: 'master' }), 1);
    assert.ok((sample(afterB, 'pubsync_process_resident_memory_bytes') ?? 0) > 0);

    const afterA = await metrics(a);
    assert.equal(sample(afterA, 'pubsync_changes_captured_total', { source: 'docs' }), captured0 + 1);
    assert.ok((sample(afterA, 'pubsync_node_entries_total', { node: 'notes' }) ?? 0) >= 1);
    assert.ok((sample(afterA, 'pubsync_entries_published_total') ?? 0) >= 1);
    const head = sample(afterA, 'pubsync_outbound_last_seq') ?? 0;
    assert.ok(head >= 1);
    assert.equal(sample(afterA, 'pubsync_node_published_seq', { node: 'notes' }), head);
    assert.equal(sample(afterA, 'pubsync_outbound_unpublished'), 0);
    // Positions travel in control-room presences, refreshed within a second or so.
    await until('b to show lag 0 once the head is announced', async () => {
      const text = await metrics(b);
      return sample(text, 'pubsync_subscription_lag', { subscription: 'from-a', origin: alice.jid }) === 0 && sample(text, 'pubsync_subscription_position', { subscription: 'from-a', origin: alice.jid }) === head;
    });
    await until('a to see b has everything', async () => sample(await metrics(a), 'pubsync_peer_lag', { peer: bob.jid }) === 0);
  });

  it('status says it comes from the running daemon and shows peers, positions and queues', async () => {
    const { code, stdout, stderr } = await pubsync('status', '--json', '--config', configB);
    assert.equal(code, 0, stderr);
    const report = JSON.parse(stdout) as {
      from: string;
      admin: string;
      deadLetters: number;
      live: { ready: boolean; xmpp: { jid: string; connected: boolean }; subscriptions: Record<string, unknown>[]; peers: Record<string, unknown>[] };
    };
    assert.equal(report.from, 'daemon');
    assert.equal(report.admin, await adminUrl(b));
    assert.equal(report.live.ready, true);
    assert.deepEqual(report.live.xmpp.connected, true);
    const [subscription] = report.live.subscriptions;
    assert.equal(subscription?.name, 'from-a');
    assert.equal(subscription?.origin, alice.jid);
    assert.equal(subscription?.caughtUp, true);
    assert.equal(subscription?.queueDepth, 0);
    const peer = report.live.peers.find((p) => p.jid === alice.jid);
    assert.equal(peer?.role, 'master');
    assert.equal(peer?.online, true);

    const text = await pubsync('status', '--config', configB);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^from\s+the running daemon \(pid \d+, admin endpoint http:\/\/127\.0\.0\.1:\d+\)$/m);
    assert.match(text.stdout, /^ {2}from-a\s+notes\s+docs-in\s+alice@localhost\s+\d+/m);
    assert.match(text.stdout, /^ {2}alice@localhost\s+master\s+yes\s/m);
  });

  it('dlq retry on the running daemon: fails again (kept, new reason, retries 1) until the sink accepts it, then applies it', async () => {
    await putDoc(dbA, 'hidden', { type: 'secret', title: 'The Analytical Engine' });
    await until('the sink to refuse it', async () => (sample(await metrics(b), 'pubsync_dead_letters') ?? 0) >= 1);
    const [first] = await deadLetterIds(configB);
    assert.ok(first);
    const shown = await pubsync('dlq', 'show', String(first), '--config', configB);
    assert.match(shown.stdout, /^where: +subscription:from-a$/m);
    assert.match(shown.stdout, /^code: +PUBSYNC_ERR_COUCHDB_REJECTED$/m);

    const again = await pubsync('dlq', 'retry', String(first), '--config', configB);
    assert.equal(again.code, 1, again.stderr);
    assert.match(again.stdout, /retried by the running daemon/);
    const kept = /dead letter \d+: failed, kept as dead letter (\d+) \(retries 1\): PUBSYNC_ERR_COUCHDB_REJECTED .*secret documents are not allowed/.exec(again.stdout);
    assert.ok(kept, again.stdout);
    const second = Number(kept[1]);
    assert.deepEqual(await deadLetterIds(configB), [second]);
    assert.match((await pubsync('dlq', 'show', String(second), '--config', configB)).stdout, /^retries: +1$/m);

    await removeValidation(dbB);
    const applied = await pubsync('dlq', 'retry', String(second), '--config', configB);
    assert.equal(applied.code, 0, applied.stdout + applied.stderr);
    assert.match(applied.stdout, new RegExp(`dead letter ${second}: applied`));
    assert.ok((await docs(dbB)).some((doc) => doc.title === 'The Analytical Engine'));
    assert.deepEqual(await deadLetterIds(configB), []);
    assert.equal(sample(await metrics(b), 'pubsync_dead_letters'), 0);
  });

  it('dlq retry while the daemon is stopped is recorded, and performed at its next start; status reads the database meanwhile', async () => {
    await putDoc(dbB, '_design/validation', { validate_doc_update: VALIDATION });
    await putDoc(dbA, 'hidden-2', { type: 'secret', title: 'Note G' });
    await until('the sink to refuse it', async () => (sample(await metrics(b), 'pubsync_dead_letters') ?? 0) >= 1);
    assert.equal(await b.terminate(), 0);
    assert.equal(existsSync(join(dir, 'b.db-admin.json')), false, 'the address file goes with the daemon');

    const status = await pubsync('status', '--json', '--config', configB);
    assert.equal(status.code, 0, status.stderr);
    const stored = JSON.parse(status.stdout) as { from: string; note: string; deadLetters: number; live?: unknown };
    assert.equal(stored.from, 'state-database');
    assert.equal(stored.live, undefined);
    assert.equal(stored.deadLetters, 1);
    assert.match(stored.note, /not running/);
    assert.match((await pubsync('status', '--config', configB)).stdout, /^from\s+the state database \(the daemon is not running/m);

    await removeValidation(dbB);
    const recorded = await pubsync('dlq', 'retry', '--all', '--config', configB);
    assert.equal(recorded.code, 0, recorded.stderr);
    assert.match(recorded.stdout, /not running: retry of all 1 dead letters recorded; the daemon performs it at its next start/);

    b = start(configB);
    const performed = await b.logged('dead-letter retries requested while stopped performed');
    assert.deepEqual(
      (performed.outcomes as { status: string }[]).map((o) => o.status),
      ['applied'],
    );
    assert.ok((await docs(dbB)).some((doc) => doc.title === 'Note G'));
    assert.deepEqual(await deadLetterIds(configB), []);
    const again = await pubsync('dlq', 'retry', '--all', '--config', configB);
    assert.match(again.stdout, /no dead letters/, 'the request was performed once and forgotten');
  });

  it('/readyz answers 503 while a subscription cannot catch up, and 200 once its origin is there', async () => {
    const carol = await prosody.createAccount('carol');
    const dave = await prosody.createAccount('dave');
    const dbC = await couch.createDatabase('site-c');
    const c = start(
      await config('c', [
        'replica: { id: 3 }',
        ...xmpp(carol, false),
        `sinks: [{ name: docs-in, plugin: couchdb, options: { url: "${couch.url}", database: ${dbC} } }]`,
        `subscriptions: [{ name: from-dave, node: dave-notes, publisher: ${dave.jid}, sink: docs-in }]`,
      ]),
    );
    const url = await adminUrl(c);
    const waiting = await until('c to be connected but not caught up', async () => {
      const answer = await curl(`${url}/readyz`);
      return /catching up: from-dave/.test(answer.body) && answer;
    });
    assert.equal(waiting.status, 503);
    assert.equal(sample(await metrics(c), 'pubsync_ready'), 0);
    assert.equal((await curl(`${url}/healthz`)).status, 200, 'alive all the same');

    const d = start(await config('d', ['replica: { id: 4 }', ...xmpp(dave, false), `nodes: [{ name: dave-notes, members: [${carol.jid}] }]`]));
    await d.logged('ready');
    const ready = await until('c to become ready', async () => {
      const answer = await curl(`${url}/readyz`);
      return answer.status === 200 && answer;
    });
    assert.equal(ready.body, 'ready\n');
    assert.equal(await c.terminate(), 0);
    assert.equal(await d.terminate(), 0);
  });

  it('a non-loopback admin.listen without admin.allowRemote is a config error: exit 2, nothing started', async () => {
    const file = await config('remote', ['replica: { id: 5 }', 'admin: { listen: "0.0.0.0:0" }']);
    const daemon = start(file);
    assert.equal(await daemon.exited, 2, daemon.stderr());
    assert.match(daemon.stderr(), /admin\.listen/);
    assert.match(daemon.stderr(), /0\.0\.0\.0 is not a loopback address.*admin\.allowRemote: true/);
    assert.equal(existsSync(join(dir, 'remote.db')), false);
  });
});
