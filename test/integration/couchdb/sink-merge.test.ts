import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { ErrorCodes } from '../../../src/errors/index.js';
import { ConfigError } from '../../../src/errors/index.js';
import { createTestContext, instantiate, MemoryPluginState, nextCsn, objectEntry, reviseEntry } from '../../../src/testing/index.js';
import { couchdbSource } from '../../../plugins/couchdb/index.js';
import { sinkOptionsSchema, storeScope } from '../../../plugins/couchdb/config.js';
import { createCouchClient, type CouchClient } from '../../../plugins/couchdb/couch-client.js';
import { CouchDbSink } from '../../../plugins/couchdb/couchdb-sink.js';
import { startCouchDb, type CouchDb } from '../../harness/couchdb.js';
import { testDatabase } from './couch-fixture.js';

let couch: CouchDb;
before(async () => {
  couch = await startCouchDb();
});
after(() => couch.stop());

const signal = new AbortController().signal;

/**
 * The real client, with a hook that runs once between the sink's bulk read of the current
 * revisions and its _bulk_docs: the place where a concurrent writer makes CouchDB answer 409.
 */
function racingClient(client: CouchClient, between: () => Promise<void>): CouchClient & { bulkCalls: number } {
  let pending: (() => Promise<void>) | undefined = between;
  const racing = {
    ...client,
    bulkCalls: 0,
    async current(ids: readonly string[], s: AbortSignal) {
      const found = await client.current(ids, s);
      const hook = pending;
      pending = undefined;
      await hook?.();
      return found;
    },
    async bulkDocs(docs: Parameters<CouchClient['bulkDocs']>[0], s: AbortSignal) {
      racing.bulkCalls++;
      return client.bulkDocs(docs, s);
    },
  };
  return racing;
}

async function fixture() {
  const database = await couch.createDatabase('merge');
  const options = sinkOptionsSchema.parse({ url: couch.url, database });
  return { options, db: testDatabase(couch.url, database), client: createCouchClient(options) };
}

describe('couchdb sink: revisions and conflicts', () => {
  it('re-reads and merges when an application edits the document between read and write (409)', async () => {
    const { options, db, client } = await fixture();
    const first = new CouchDbSink(options, createTestContext({ kind: 'sink' }), client);
    const entry = objectEntry({ fields: { name: 'merge me', note: 'first' } });
    const [created] = await first.apply([{ entry, fields: ['name', 'note'] }], signal);
    const id = created?.status === 'applied' ? created.localKey : assert.fail(JSON.stringify(created));

    const raced = racingClient(client, async () => {
      await db.put(id, { ...(await db.get(id)), colour: 'set by an application' });
    });
    const sink = new CouchDbSink(options, createTestContext({ kind: 'sink' }), raced);
    const [outcome] = await sink.apply([{ entry: reviseEntry(entry, { note: 'second' }), fields: ['note'], localKey: id }], signal);

    assert.deepEqual(outcome, { status: 'applied', localKey: id });
    assert.equal(raced.bulkCalls, 2, 'the first _bulk_docs met a 409 and was retried after a re-read');
    const doc = await db.get(id);
    assert.equal(doc?.['note'], 'second', "the sink's change landed");
    assert.equal(doc?.['colour'], 'set by an application', "the application's concurrent edit was kept");
    assert.equal(doc?.['name'], 'merge me');
  });

  it('merges a 409 by CSN: a field another daemon wrote with a later CSN is kept', async () => {
    const { options, db, client } = await fixture();
    const base = new CouchDbSink(options, createTestContext({ kind: 'sink' }), client);
    const entry = objectEntry({ fields: { name: 'by csn', note: 'first' } });
    const [created] = await base.apply([{ entry, fields: ['name', 'note'] }], signal);
    const id = created?.status === 'applied' ? created.localKey : assert.fail(JSON.stringify(created));

    // Ours is older: its CSN is taken before the other daemon's.
    const ours = { ...reviseEntry(entry, { name: 'ours', note: 'ours' }) };
    const theirs = reviseEntry(entry, { note: 'theirs (later)' });
    assert.ok(theirs.csn > ours.csn);
    const other = new CouchDbSink(options, createTestContext({ kind: 'sink', replica: { id: 2 } }), client);
    const raced = racingClient(client, async () => {
      const [applied] = await other.apply([{ entry: theirs, fields: ['note'], localKey: id }], signal);
      assert.equal(applied?.status, 'applied');
    });
    const sink = new CouchDbSink(options, createTestContext({ kind: 'sink' }), raced);
    const [outcome] = await sink.apply([{ entry: ours, fields: ['name', 'note'], localKey: id }], signal);

    assert.deepEqual(outcome, { status: 'applied', localKey: id });
    assert.equal(raced.bulkCalls, 2);
    const doc = await db.get(id);
    assert.equal(doc?.['name'], 'ours', 'our field without a newer competitor landed');
    assert.equal(doc?.['note'], 'theirs (later)', 'the later CSN won the field');
    const meta = doc?.['pubsync'] as { fields: Record<string, string> };
    assert.equal(meta.fields['note'], theirs.csn);
  });

  it("reports CouchDB's own conflicts (_conflicts) in the log and the shared store, and still applies", async () => {
    const { options, db, client } = await fixture();
    // Two diverging first revisions, as a replication between two servers leaves them.
    await db.db.bulk({
      docs: [
        { _id: 'split', _rev: '1-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', name: 'left' },
        { _id: 'split', _rev: '1-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', name: 'right' },
      ],
      new_edits: false,
    });
    const lines: string[] = [];
    const logger = pino(
      { level: 'warn' },
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(chunk.toString());
          done();
        },
      }),
    );
    const state = new MemoryPluginState();
    const context = createTestContext({ kind: 'sink', logger, state });
    const sink = new CouchDbSink(options, context, client);
    const entry = objectEntry({ fields: { name: 'resolved?' }, csn: nextCsn() });
    const [outcome] = await sink.apply([{ entry, fields: ['name'], localKey: 'split' }], signal);

    assert.deepEqual(outcome, { status: 'applied', localKey: 'split' });
    const logged = lines.map((line) => JSON.parse(line) as { code?: string; docId?: string });
    assert.ok(logged.some((line) => line.code === ErrorCodes.COUCHDB_DOC_CONFLICTS && line.docId === 'split'), lines.join('\n'));
    const recorded = await context.store(storeScope(options)).get('conflicts:split');
    assert.deepEqual(JSON.parse(recorded ?? '[]'), ['1-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa']);
  });

  it('reports a database that does not exist as a ConfigError, from the sink and from the source', async () => {
    const options = sinkOptionsSchema.parse({ url: couch.url, database: 'no-such-database' });
    const sink = new CouchDbSink(options, createTestContext({ kind: 'sink' }), createCouchClient(options));
    await assert.rejects(sink.apply([{ entry: objectEntry({ fields: { name: 'x' } }), fields: ['name'] }], signal), ConfigError);
    const source = await instantiate(couchdbSource, { url: couch.url, database: 'no-such-database' }, createTestContext());
    await assert.rejects(async () => {
      for await (const batch of source.start(undefined, signal)) assert.fail(`yielded ${JSON.stringify(batch)}`);
    }, ConfigError);
  });
});
