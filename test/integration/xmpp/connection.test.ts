import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { xml } from '@xmpp/client';
import { pino } from 'pino';
import { ErrorCodes } from '../../../src/errors/codes.js';
import { NS_PUBSUB } from '../../../src/transport/pubsub-nodes.js';
import { XmppConnection } from '../../../src/transport/xmpp-connection.js';
import { startProsody, type ProsodyServer } from '../../harness/prosody.js';
import { eventually } from './replicas.js';

/** The connection port against a real Prosody: login, presence, failure of requests when the stream dies. */
describe('XMPP connection', { timeout: 120_000 }, () => {
  let prosody: ProsodyServer;
  const lines: string[] = [];
  const logger = pino(
    { level: 'debug' },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    }),
  );

  before(async () => {
    prosody = await startProsody();
  });

  after(async () => {
    await prosody?.stop();
  });

  function connect(jid: string, password: string): XmppConnection {
    return new XmppConnection({ service: prosody.service, domain: prosody.domain, jid, password, resource: 'conn-test', tls: 'required', logger });
  }

  it('logs in with a non-ASCII password and never logs it', async () => {
    const password = 'pässwörd-ü€-secret';
    const account = await prosody.createAccount('unicode', password);
    const connection = connect(account.jid, password);
    await connection.start();
    try {
      assert.equal(connection.online, true);
      assert.match(connection.jid, /^unicode@localhost\/conn-test$/);
    } finally {
      await connection.stop();
    }
    const wrong = connect(account.jid, 'not-the-password-xyz');
    await assert.rejects(wrong.start(), { code: ErrorCodes.XMPP_REQUEST_FAILED, message: /login as unicode@localhost failed/ });
    await wrong.stop();
    const all = lines.join('');
    assert.ok(lines.length > 0);
    assert.ok(!all.includes(password) && !all.includes('not-the-password-xyz'), 'a password reached the log');
  });

  it('fails a pending request at once when the stream dies, not at its timeout', async () => {
    const account = await prosody.createAccount('pending');
    const connection = connect(account.jid, account.password);
    await connection.start();
    try {
      // A frozen server never answers; the request's own timeout is far beyond the test's.
      process.kill(prosody.pid, 'SIGSTOP');
      const pending = connection.request(
        xml('iq', { type: 'get', to: prosody.pubsubService }, xml('pubsub', { xmlns: NS_PUBSUB }, xml('items', { node: 'x' }))),
        'read items',
        10 * 60_000,
      );
      process.kill(prosody.pid, 'SIGKILL');
      await assert.rejects(pending, { code: ErrorCodes.XMPP_DISCONNECTED });
      assert.equal(connection.online, false);
      await prosody.restart();
      await eventually('the connection to come back after the restart', () => connection.online, 60_000);
    } finally {
      await connection.stop();
    }
  });
});
