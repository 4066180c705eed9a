import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startProsody, type ProsodyServer } from '../../harness/prosody.js';
import { eventually, note, Replica } from './replicas.js';

const NODE = 'notes';
const noteToCouch = fileURLToPath(new URL('../../../transforms/note-to-couch.xsl', import.meta.url));

/**
 * The whole path between two daemons with unlike data: alpha publishes notes (title, body),
 * beta's subscription runs the shipped note-to-couch.xsl, so beta's sink receives CouchDB-shaped
 * documents (subject, text). Real Prosody, real SQLite, real SaxonJS in its sandboxed worker.
 */
describe('subscription transform end to end', { timeout: 180_000 }, () => {
  let prosody: ProsodyServer;
  let alpha: Replica;
  let beta: Replica;

  before(async () => {
    prosody = await startProsody({ admins: ['alpha@localhost'] });
    const alphaAccount = await prosody.createAccount('alpha');
    const betaAccount = await prosody.createAccount('beta');
    alpha = new Replica(prosody, { account: alphaAccount, replica: 1, nodes: [{ name: NODE, members: [betaAccount.jid] }] });
    beta = new Replica(prosody, {
      account: betaAccount,
      replica: 2,
      subscriptions: [
        { name: 'from-alpha', node: NODE, publisher: alphaAccount.jid, transform: { stylesheet: noteToCouch, params: { 'doc-type': 'memo' } } },
      ],
    });
    await alpha.start();
    await beta.start();
  });

  after(async () => {
    await beta?.dispose();
    await alpha?.dispose();
    await prosody?.stop();
  });

  it('applies what the stylesheet made of each entry, and only the fields it changed', async () => {
    alpha.source.add(note('n1', 'ignored', { title: 'Hello', body: 'first' }));
    await eventually('the memo on beta', () => beta.sink.objects.get('n1')?.fields['text']?.[0] === 'first');
    const memo = beta.sink.objects.get('n1');
    assert.equal(memo?.type, 'memo');
    assert.deepEqual(memo?.fields, { subject: ['Hello'], text: ['first'] }, 'renamed fields, unmapped ones dropped');

    alpha.source.add(note('n1', 'ignored', { title: 'Hello', body: 'second' }));
    await eventually('the update on beta', () => beta.sink.objects.get('n1')?.fields['text']?.[0] === 'second');
    assert.deepEqual(beta.sink.calls.at(-1)?.[0]?.fields, ['text'], 'the changed list is mapped too');
  });

  it('drops the entries the stylesheet filters out and delivers the rest', async () => {
    alpha.source.add({ ...note('other', 'x'), type: 'contact' }, note('n2', 'x', { title: 'Two', body: 'b' }));
    await eventually('n2 on beta', () => beta.sink.objects.has('n2'));
    assert.equal(beta.sink.objects.has('other'), false, 'entries of other types are dropped by the stylesheet');
  });
});
