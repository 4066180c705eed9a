import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { configSchema } from '../../../src/config/schema.js';
import type { Batch } from '../../../src/format/model.js';
import { openStateStore, type SqliteStateStore } from '../../../src/state/index.js';
import { XmppTransport } from '../../../src/transport/xmpp-transport.js';
import { startProsody, type ProsodyServer, type XmppAccount } from '../../harness/prosody.js';
import { eventually, note, Replica } from './replicas.js';

/** Retries this far apart never fire within the test: only the peer's return can trigger them. */
const NEVER = { initialMs: 3_600_000, maxMs: 3_600_000 };

/**
 * Beta starts before alpha ever ran: alpha's node does not exist (beta's subscribe is refused) and
 * alpha does not answer (beta's catch-up fails). Both wait for a retry. When alpha starts it asks
 * beta for a catch-up; beta takes that as "alpha is back" and subscribes and catches up at once,
 * instead of when its timers fire (up to 30 s later in a deployment, an hour here).
 */
describe('a subscriber whose origin was away', { timeout: 120_000 }, () => {
  let prosody: ProsodyServer;
  let alphaAccount: XmppAccount;
  let betaAccount: XmppAccount;
  let alpha: Replica;
  let beta: XmppTransport;
  let store: SqliteStateStore;
  const dir = mkdtempSync(join(tmpdir(), 'pubsync-peer-return-'));
  const received: Batch[] = [];
  const logged: string[] = [];

  before(async () => {
    prosody = await startProsody({ admins: ['alpha@localhost', 'beta@localhost'] });
    [alphaAccount, betaAccount] = await Promise.all([prosody.createAccount('alpha'), prosody.createAccount('beta')]);
    alpha = new Replica(prosody, {
      account: alphaAccount,
      replica: 1,
      nodes: [{ name: 'alpha-notes', members: [betaAccount.jid] }],
      subscriptions: [{ name: 'from-beta', node: 'beta-notes', publisher: betaAccount.jid }],
    });
    store = openStateStore(join(dir, 'state.db'));
    const parsed = configSchema.parse({
      replica: { id: 2 },
      state: { path: join(dir, 'state.db') },
      xmpp: { service: prosody.service, domain: prosody.domain, jid: betaAccount.jid, password: betaAccount.password, pubsubService: prosody.pubsubService },
      sources: [],
      sinks: [{ name: 'out', plugin: 'memory' }],
      nodes: [{ name: 'beta-notes', members: [alphaAccount.jid] }],
      subscriptions: [{ name: 'from-alpha', node: 'alpha-notes', publisher: alphaAccount.jid, sink: 'out' }],
    });
    const { xmpp } = parsed;
    assert.ok(xmpp, 'the config has an xmpp section');
    const config = { ...parsed, xmpp };
    const messages = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logged.push(String((JSON.parse(chunk.toString()) as { msg?: string }).msg));
        done();
      },
    });
    beta = new XmppTransport({
      config,
      store,
      logger: pino({ level: 'info' }, messages),
      receive: (_subscription, batch) => {
        received.push(batch);
        return Promise.resolve();
      },
      subscriberRetry: NEVER,
    });
  });

  after(async () => {
    await beta?.stop();
    store?.close();
    await alpha?.dispose();
    await prosody?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('subscribes and catches up as soon as the origin asks it for a catch-up', async () => {
    await beta.start();
    await eventually('beta to be refused and to fail its first catch-up', () => logged.includes('subscribe refused') && logged.includes('catch-up failed, retrying'));

    alpha.source.add(note('n1', 'written before alpha started'));
    await alpha.start();
    const entryIds = (): string[] => received.flatMap((b) => b.entries.map((e) => (e.deleted ? e.id : e.keys.map((k) => k.value).join(','))));
    await eventually('beta to receive n1 from alpha', () => entryIds().includes('n1'), 30_000);

    // And live notifications flow: beta is subscribed now, not in an hour.
    alpha.source.add(note('n2', 'written while both run'));
    await eventually('beta to receive n2 live', () => entryIds().includes('n2'), 30_000);
    assert.ok(received.every((b) => b.origin.jid === alphaAccount.jid), 'only alpha publishes on alpha-notes');
  });
});
