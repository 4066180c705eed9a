import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import type { NodeConfig } from '../../../src/config/schema.js';
import { ensureNode } from '../../../src/transport/pubsub-nodes.js';
import { XmppConnection } from '../../../src/transport/xmpp-connection.js';
import { freePort } from '../../harness/service-process.js';
import { startProsody, type ProsodyServer, type XmppAccount } from '../../harness/prosody.js';
import { pubsync } from '../../support/cli.js';

/** `pubsync check --online` against a real Prosody: partner discovery through disco#items. */
describe('pubsync check --online', { timeout: 60_000 }, () => {
  let prosody: ProsodyServer;
  let alice: XmppAccount;
  let dir: string;

  before(async () => {
    prosody = await startProsody({ admins: ['alice@localhost'] });
    alice = await prosody.createAccount('alice');
    dir = await mkdtemp(join(tmpdir(), 'pubsync-check-online-'));
    const logger = pino({ level: 'silent' });
    const connection = new XmppConnection({
      service: prosody.service,
      domain: prosody.domain,
      jid: alice.jid,
      password: alice.password,
      resource: 'setup',
      tls: 'required',
      logger,
    });
    await connection.start();
    const people: NodeConfig = { name: 'people', access: 'whitelist', members: [], publishers: [], maxItems: 10, persistItems: true, route: {} };
    await ensureNode(connection, prosody.pubsubService, people, logger);
    await connection.stop();
  });

  after(async () => {
    await prosody?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function config(service: string, password: string): Promise<string> {
    const file = join(dir, `c-${Math.random().toString(36).slice(2)}.yaml`);
    await writeFile(file, [
      'replica: { id: 2 }',
      `state: { path: ${join(dir, 'state.db')} }`,
      'xmpp:',
      `  service: ${service}`,
      '  domain: localhost',
      `  jid: ${alice.jid}`,
      `  password: "${password}"`,
      `  pubsubService: ${prosody.pubsubService}`,
      'sinks: [{ name: out, plugin: couchdb, options: { url: "http://127.0.0.1:1", database: x } }]',
      'subscriptions:',
      '  - { name: people, node: people, sink: out }',
      '  - { name: ghosts, node: ghosts, sink: out }',
      '',
    ].join('\n'));
    return file;
  }

  it('names a subscribed node the partner does not offer, and the nodes it does (exit 2)', async () => {
    const { code, stderr } = await pubsync('check', '--online', '--config', await config(prosody.service, alice.password));
    assert.equal(code, 2, stderr);
    assert.match(stderr, /subscriptions\[1\]\.node: pubsub\.localhost offers no node "ghosts"; expected one of: people/);
    assert.doesNotMatch(stderr, /subscriptions\[0\]/);
  });

  it('exits 4 on a refused login, without printing the password', async () => {
    const { code, stderr } = await pubsync('check', '--online', '--config', await config(prosody.service, 'wrong-secret-123'));
    assert.equal(code, 4, stderr);
    assert.match(stderr, /login as alice@localhost failed/);
    assert.doesNotMatch(stderr, /wrong-secret-123/);
  });

  it('exits 3 when the server cannot be reached', async () => {
    const closed = `xmpp://127.0.0.1:${await freePort()}`;
    const { code, stderr } = await pubsync('check', '--online', '--timeout', '1500', '--config', await config(closed, alice.password));
    assert.equal(code, 3, stderr);
    assert.match(stderr, /no XMPP connection/);
  });
});
