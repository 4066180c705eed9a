import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseEntry } from '../../../src/format/index.js';
import { openStateStore } from '../../../src/state/index.js';
import { startProsody, type ProsodyServer } from '../../harness/prosody.js';
import { pubsync } from '../../support/cli.js';
import { eventually, note, Replica } from '../xmpp/replicas.js';

const NODE = 'notes';
const noteToCouch = fileURLToPath(new URL('../../../transforms/note-to-couch.xsl', import.meta.url));

/**
 * A subscription with a transform (the shipped note-to-couch.xsl: notes become memos, everything
 * else is dropped) whose sink refuses memos. The dead letter holds the memo, as transformed; its
 * retry must not run the stylesheet again (which would drop it, and the letter with it). Real
 * Prosody, real daemons, real SaxonJS; the retry is asked for through `pubsync dlq retry`.
 */
describe('dlq retry of a transformed entry', { timeout: 180_000 }, () => {
  let prosody: ProsodyServer;
  let alpha: Replica;
  let beta: Replica;
  let dir: string;
  let betaConfig: string;

  before(async () => {
    prosody = await startProsody({ admins: ['alpha@localhost'] });
    const alphaAccount = await prosody.createAccount('alpha');
    const betaAccount = await prosody.createAccount('beta');
    alpha = new Replica(prosody, { account: alphaAccount, replica: 1, nodes: [{ name: NODE, members: [betaAccount.jid] }] });
    beta = new Replica(prosody, {
      account: betaAccount,
      replica: 2,
      subscriptions: [{ name: 'from-alpha', node: NODE, publisher: alphaAccount.jid, transform: { stylesheet: noteToCouch, params: { 'doc-type': 'memo' } } }],
    });
    beta.sink.refusedType = 'memo';
    await alpha.start();
    await beta.start();
    // The CLI needs no more of the config than where the state database is: it finds the daemon beside it.
    dir = await mkdtemp(join(tmpdir(), 'pubsync-retry-transformed-'));
    betaConfig = join(dir, 'beta.yaml');
    await writeFile(betaConfig, ['replica: { id: 2 }', `state: { path: ${join(beta.dir, 'state.db')} }`, ''].join('\n'));
  });

  after(async () => {
    await beta?.dispose();
    await alpha?.dispose();
    await prosody?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  function onlyLetter(): { id: number; payload: string; retries: number } {
    const store = openStateStore(join(beta.dir, 'state.db'));
    try {
      const letters = store.listDeadLetters({ limit: 10 });
      assert.equal(letters.length, 1, JSON.stringify(letters.map((l) => l.message)));
      const [letter] = letters;
      return { id: letter?.id ?? 0, payload: String(letter?.payload), retries: letter?.retries ?? -1 };
    } finally {
      store.close();
    }
  }

  it('a sink outage keeps the letter; once the sink takes memos, the memo is applied as it was transformed', async () => {
    alpha.source.add(note('n1', 'ignored', { title: 'Hello', body: 'first' }));
    await eventually('the refusal on beta', () => beta.deadLetters().length === 1);
    const refused = onlyLetter();
    assert.equal(parseEntry(refused.payload).type, 'memo', 'the dead letter holds the transformed entry');

    beta.sink.failures = 1;
    const down = await pubsync('dlq', 'retry', String(refused.id), '--config', betaConfig);
    assert.equal(down.code, 1, down.stderr);
    assert.match(down.stdout, new RegExp(`dead letter ${refused.id}: unavailable, kept \\(retries 1\\): kept: .*sink unavailable`));
    assert.equal(onlyLetter().retries, 1);

    beta.sink.refusedType = 'none';
    const applied = await pubsync('dlq', 'retry', String(refused.id), '--config', betaConfig);
    assert.equal(applied.code, 0, applied.stdout + applied.stderr);
    assert.match(applied.stdout, new RegExp(`dead letter ${refused.id}: applied`));
    const memo = beta.sink.objects.get('n1');
    assert.equal(memo?.type, 'memo');
    assert.deepEqual(memo?.fields, { subject: ['Hello'], text: ['first'] });
    assert.deepEqual(beta.deadLetters(), []);
  });
});
