import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { xml } from '@xmpp/client';
import { ErrorCodes } from '../../../src/errors/codes.js';
import { NS_CATCHUP, NS_RSM } from '../../../src/transport/catch-up.js';
import { affiliations, ensureNode, items, subscribe, subscribers } from '../../../src/transport/pubsub-nodes.js';
import { StanzaRequestError, XmppConnection } from '../../../src/transport/xmpp-connection.js';
import { startProsody, type ProsodyServer, type XmppAccount } from '../../harness/prosody.js';
import { eventually, note, quiet, Replica } from './replicas.js';

const NODE = 'alpha-notes';

/**
 * Two daemons (alpha publishes, beta subscribes) through one real Prosody 0.12, each with its own
 * SQLite state; mallory and carol are plain clients that try what they may not do.
 */
describe('XMPP transport between two daemons', { timeout: 240_000 }, () => {
  let prosody: ProsodyServer;
  let alphaAccount: XmppAccount;
  let betaAccount: XmppAccount;
  let mallory: XmppConnection;
  let alpha: Replica;
  let beta: Replica;

  before(async () => {
    prosody = await startProsody({ admins: ['alpha@localhost'] });
    alphaAccount = await prosody.createAccount('alpha');
    betaAccount = await prosody.createAccount('beta');
    const malloryAccount = await prosody.createAccount('mallory');
    alpha = new Replica(prosody, {
      account: alphaAccount,
      replica: 1,
      nodes: [{ name: NODE, members: [betaAccount.jid] }],
    });
    beta = new Replica(prosody, {
      account: betaAccount,
      replica: 2,
      subscriptions: [{ name: 'from-alpha', node: NODE, publisher: alphaAccount.jid }],
    });
    await alpha.start();
    await beta.start();
    mallory = connect(prosody, malloryAccount);
    await mallory.start();
  });

  after(async () => {
    await mallory?.stop();
    await beta?.dispose();
    await alpha?.dispose();
    await prosody?.stop();
  });

  it('creates the node as a whitelist and refuses a JID off the list on subscribe and on items', async () => {
    const aff = await affiliations(alpha.transport.connection, prosody.pubsubService, NODE);
    assert.equal(aff.get(betaAccount.jid), 'member');
    await assert.rejects(subscribe(mallory, prosody.pubsubService, NODE), isCondition('forbidden'));
    await assert.rejects(items(mallory, prosody.pubsubService, NODE), isCondition('forbidden'));
  });

  it('delivers live changes from alpha to beta', async () => {
    const ids = Array.from({ length: 20 }, (_, i) => `live-${i}`);
    alpha.source.add(...ids.map((id) => note(id, `hello ${id}`)));
    await eventually('beta to apply 20 live changes', () => ids.every((id) => beta.sink.objects.has(id)));
    assert.deepEqual(beta.sink.objects.get('live-7')?.fields.text, ['hello live-7']);
  });

  it('dead-letters an entry larger than the stanza limit and lets the rest flow on the same stream', async () => {
    const connection = alpha.transport.connection;
    const jidBefore = connection.jid;
    alpha.source.add(note('small-1', 'a'), note('huge', 'x'.repeat(300 * 1024)), note('small-2', 'b'));
    await eventually('the small entries around the huge one', () => beta.sink.objects.has('small-1') && beta.sink.objects.has('small-2'));
    assert.equal(beta.sink.objects.has('huge'), false);
    const letters = alpha.deadLetters().filter((d) => d.code === ErrorCodes.TRANSPORT_TOO_LARGE);
    assert.equal(letters.length, 1);
    assert.equal(letters[0]?.where, 'transport');
    assert.match(letters[0]?.message ?? '', /exceeds the \d+-byte item limit of node alpha-notes/);
    assert.ok(connection.online);
    assert.equal(connection.jid, jidBefore, 'the stream was never dropped');
  });

  it('refuses the catch-up IQ to a peer off the whitelist', async () => {
    const iq = xml('iq', { type: 'get', to: `${alphaAccount.jid}/pubsync` }, xml('query', { xmlns: NS_CATCHUP, node: NODE }, xml('set', { xmlns: NS_RSM }, xml('after', {}, '0'))));
    await assert.rejects(mallory.request(iq, 'catch-up as mallory'), isCondition('forbidden'));
  });

  it('brings 5,000 changes made while beta was offline exactly once when it comes back', async (t) => {
    await beta.stop();
    const ids = Array.from({ length: 5000 }, (_, i) => `offline-${i}`);
    alpha.source.add(...ids.map((id) => note(id, `made while beta was away ${id}`)));
    await eventually('alpha to publish the 5000 changes', () => alpha.transport.publisher.position >= 5000n, 60_000);
    const callsBefore = beta.sink.calls.length;
    const started = Date.now();
    await beta.start();
    await eventually('beta to catch up', () => ids.every((id) => beta.sink.objects.has(id)), 120_000);
    const ms = Date.now() - started;
    const applied = beta.sink.calls.slice(callsBefore).flat().filter((op) => op.entry.id !== undefined && String(op.entry.keys[0]?.value).startsWith('offline-'));
    assert.equal(applied.length, 5000, 'each change applied once');
    assert.ok(ids.every((id) => beta.sink.objects.get(id)?.writes === 1));
    t.diagnostic(`catch-up of 5000 offline changes: ${ms} ms from start to last applied`);
  });

  it('loses nothing across a Prosody restart', async () => {
    const during = Array.from({ length: 30 }, (_, i) => `restart-during-${i}`);
    const afterwards = Array.from({ length: 30 }, (_, i) => `restart-after-${i}`);
    const restarting = prosody.restart();
    alpha.source.add(...during.map((id) => note(id, id)));
    await restarting;
    await eventually('both daemons back online', () => alpha.transport.connection.online && beta.transport.connection.online, 60_000);
    alpha.source.add(...afterwards.map((id) => note(id, id)));
    await eventually('every change made during and after the restart', () => [...during, ...afterwards].every((id) => beta.sink.objects.has(id)), 90_000);
    assert.ok([...during, ...afterwards].every((id) => beta.sink.objects.get(id)?.writes === 1));
    // Caught up; what follows can only come live, through the subscription renewed after the restart.
    await beta.transport.subscriber.idle();
    alpha.source.add(note('restart-live', 'live again'));
    await eventually('a live change after the restart', () => beta.sink.objects.has('restart-live'), 30_000);
  });

  it('removes a subscriber taken off the whitelist: subscription first, then affiliation', async () => {
    const carolAccount = await prosody.createAccount('carol');
    const carol = connect(prosody, carolAccount);
    await carol.start();
    try {
      const owner = alpha.transport.connection;
      const node = { name: 'reconcile', access: 'whitelist' as const, members: [carolAccount.jid], publishers: [], maxItems: 10, persistItems: true, route: {} };
      await ensureNode(owner, prosody.pubsubService, node, quiet);
      await subscribe(carol, prosody.pubsubService, 'reconcile');
      assert.deepEqual((await subscribers(owner, prosody.pubsubService, 'reconcile')).map(bareOf), [carolAccount.jid]);

      const report = await ensureNode(owner, prosody.pubsubService, { ...node, members: [] }, quiet);
      assert.deepEqual(report.unsubscribed.map(bareOf), [carolAccount.jid]);
      assert.equal(report.set[carolAccount.jid], 'none');
      assert.deepEqual(await subscribers(owner, prosody.pubsubService, 'reconcile'), []);
      assert.equal((await affiliations(owner, prosody.pubsubService, 'reconcile')).has(carolAccount.jid), false);
      await assert.rejects(items(carol, prosody.pubsubService, 'reconcile'), isCondition('forbidden'));
    } finally {
      await carol.stop();
    }
  });
});

function connect(prosody: ProsodyServer, account: XmppAccount): XmppConnection {
  return new XmppConnection({
    service: prosody.service,
    domain: prosody.domain,
    jid: account.jid,
    password: account.password,
    resource: 'test',
    tls: 'required',
    logger: quiet,
  });
}

function isCondition(condition: string) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof StanzaRequestError, `expected a stanza error, got ${String(error)}`);
    assert.equal(error.condition, condition);
    return true;
  };
}

function bareOf(jid: string): string {
  return jid.split('/')[0] ?? jid;
}
