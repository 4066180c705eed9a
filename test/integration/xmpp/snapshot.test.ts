import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { xml } from '@xmpp/client';
import type { SinkOperation, SourceChange } from '../../../src/plugin-api/index.js';
import { openStateStore } from '../../../src/state/index.js';
import { NS_CATCHUP, NS_RSM } from '../../../src/transport/catch-up.js';
import { XmppConnection } from '../../../src/transport/xmpp-connection.js';
import { startProsody, type ProsodyServer, type XmppAccount } from '../../harness/prosody.js';
import { eventually, note, quiet, Replica } from './replicas.js';

const NODE = 'sigma-notes';

/**
 * Initial sync by compacted snapshot, and catch-up after the origin compacted its log, between real
 * daemons through a real Prosody 0.12. sigma is the origin; beta is a brand-new subscriber; carol
 * falls behind while sigma compacts away what she has not seen.
 */
describe('compacted snapshot for new and far-behind subscribers', { timeout: 180_000 }, () => {
  let prosody: ProsodyServer;
  let sigmaAccount: XmppAccount;
  let carolAccount: XmppAccount;
  let sigma: Replica;
  let beta: Replica;
  let carol: Replica;

  before(async () => {
    prosody = await startProsody({ admins: ['sigma@localhost'] });
    sigmaAccount = await prosody.createAccount('sigma');
    const betaAccount = await prosody.createAccount('beta');
    carolAccount = await prosody.createAccount('carol');
    sigma = new Replica(prosody, { account: sigmaAccount, replica: 1, nodes: [{ name: NODE, members: [betaAccount.jid, carolAccount.jid] }] });
    const subscriptions = [{ name: 'from-sigma', node: NODE, publisher: sigmaAccount.jid }];
    beta = new Replica(prosody, { account: betaAccount, replica: 2, subscriptions });
    carol = new Replica(prosody, { account: carolAccount, replica: 3, subscriptions });
    await sigma.start();
  });

  after(async () => {
    await carol?.dispose();
    await beta?.dispose();
    await sigma?.dispose();
    await prosody?.stop();
  });

  /** The origin's log, read through a second connection to its state database. */
  function originLog<T>(read: (store: ReturnType<typeof openStateStore>) => T): T {
    const store = openStateStore(join(sigma.dir, 'state.db'));
    try {
      return read(store);
    } finally {
      store.close();
    }
  }

  async function published(): Promise<void> {
    const head = originLog((store) => store.lastOutboundSeq());
    await eventually('sigma to publish its log', () => sigma.transport.publisher.position >= head, 60_000);
  }

  it('gives a new subscriber each object once, at its latest state, tombstones included', async () => {
    const updates = Array.from({ length: 50 }, (_, i) => note('hot', `revision ${i + 1}`));
    sigma.source.add(...updates, note('gone', 'short-lived'), remove('gone'));
    await eventually('sigma to log 52 entries', () => originLog((store) => store.lastOutboundSeq()) === 52n, 30_000);
    await published();

    await beta.start();
    await eventually('beta to receive the snapshot', () => operations(beta).length >= 2, 60_000);
    await beta.transport.subscriber.idle();
    const delivered = operations(beta);
    assert.equal(delivered.length, 2, `compacted: one entry per object, not 52 (got ${delivered.length})`);
    const hot = delivered.find((op) => op.entry.keys[0]?.value === 'hot');
    const gone = delivered.find((op) => op.entry.keys[0]?.value === 'gone' || op.entry.deleted);
    assert.ok(hot && !hot.entry.deleted);
    assert.deepEqual(hot.entry.fields.find((f) => f.name === 'text')?.values, ['revision 50']);
    assert.ok(gone?.entry.deleted, 'the deleted object arrives as its tombstone');
    assertEqualToOrigin(beta);
    assert.equal(beta.transport.subscriber.position('from-sigma'), 52n);

    // The snapshot ended at a position from which the ordinary stream continues.
    sigma.source.add(note('after-snapshot', 'live'));
    await eventually('a live change after the snapshot', () => beta.sink.objects.has('after-snapshot'), 30_000);
    assert.equal(operations(beta).length, 3);
  });

  it('answers a subscriber behind a compacted range with a snapshot, and it ends equal', async () => {
    await carol.start();
    await eventually('carol to sync', () => carol.sink.objects.has('after-snapshot'), 60_000);
    await carol.transport.subscriber.idle();
    const position = carol.transport.subscriber.position('from-sigma') ?? 0n;
    await carol.stop();

    // While carol is away: the hot object moves on, new objects come, one changes, one goes.
    const late = Array.from({ length: 20 }, (_, i) => note(`late-${i}`, `late ${i}`));
    const changes = [
      ...Array.from({ length: 10 }, (_, i) => note('hot', `revision ${51 + i}`)),
      ...late,
      note('late-1', 'late 1, changed'),
      remove('late-2'),
    ];
    sigma.source.add(...changes);
    await eventually('sigma to log the changes', () => originLog((store) => store.lastOutboundSeq()) === position + BigInt(changes.length), 30_000);
    await published();

    // Zero retention: every superseded record goes, including ones carol never received.
    await eventually('sigma to compact past carol', () => {
      sigma.daemon?.trimLog(0);
      return originLog((store) => store.compactedThrough()) > position;
    });
    const { depth, head } = originLog((store) => ({ depth: store.outboundDepth(), head: store.lastOutboundSeq() }));
    assert.ok(depth < Number(head), `the log was compacted (${depth} records for ${head} seqs)`);

    // The origin says so on the wire: a plain catch-up after carol's position is answered with a snapshot.
    const probe = connect(prosody, carolAccount);
    await probe.start();
    try {
      const reply = await probe.request(
        xml('iq', { type: 'get', to: `${sigmaAccount.jid}/pubsync` }, xml('query', { xmlns: NS_CATCHUP, node: NODE }, xml('set', { xmlns: NS_RSM }, xml('after', {}, String(position))))),
        'catch-up as carol',
      );
      const snapshot = reply.getChild('query', NS_CATCHUP)?.getChild('snapshot');
      assert.equal(snapshot?.attrs.reason, 'trimmed');
    } finally {
      await probe.stop();
    }

    const before = operations(carol).length;
    await carol.start();
    await eventually('carol to catch up from the snapshot', () => carol.sink.objects.has('late-19') && !carol.sink.objects.has('late-2'), 60_000);
    await carol.transport.subscriber.idle();
    const delivered = operations(carol).slice(before);
    // hot, late-0..late-19 (late-1 at its second state, late-2 as its tombstone): 21, not 32.
    assert.equal(delivered.length, 21, `compacted catch-up (got ${delivered.length})`);
    assert.deepEqual(carol.sink.objects.get('hot')?.fields.text, ['revision 60']);
    assert.deepEqual(carol.sink.objects.get('late-1')?.fields.text, ['late 1, changed']);
    assertEqualToOrigin(carol);
    assert.equal(carol.transport.subscriber.position('from-sigma'), head);
  });

  /** What the origin's application holds: the last change of each object in its history. */
  function assertEqualToOrigin(replica: Replica): void {
    const expected = new Map<string, readonly unknown[]>();
    for (const change of sigma.source.history) {
      const id = String(change.keys[0]?.value);
      if (change.op === 'delete') expected.delete(id);
      else expected.set(id, change.fields.find((f) => f.name === 'text')?.values ?? []);
    }
    const actual = new Map([...replica.sink.objects].map(([id, object]) => [id, object.fields.text ?? []]));
    assert.deepEqual(actual, expected);
  }
});

function operations(replica: Replica): SinkOperation[] {
  return replica.sink.calls.flat();
}

function remove(id: string): SourceChange {
  return { op: 'delete', keys: [{ scheme: 'test-id', value: id }], type: 'note' };
}

function connect(prosody: ProsodyServer, account: XmppAccount): XmppConnection {
  return new XmppConnection({
    service: prosody.service,
    domain: prosody.domain,
    jid: account.jid,
    password: account.password,
    resource: 'probe',
    tls: 'required',
    logger: quiet,
  });
}
