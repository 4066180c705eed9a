import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  BatchCollector,
  createTestContext,
  instantiate,
  MemoryPluginState,
  objectEntry,
  reviseEntry,
  tombstoneOf,
} from '../../../src/testing/index.js';
import type { SourceChange } from '../../../src/plugin-api/index.js';
import { couchdbSink, couchdbSource } from '../../../plugins/couchdb/index.js';
import { startCouchDb, type CouchDb } from '../../harness/couchdb.js';
import { testDatabase } from './couch-fixture.js';

let couch: CouchDb;
before(async () => {
  couch = await startCouchDb();
});
after(() => couch.stop());

const idOf = (change: SourceChange): string | undefined => change.keys[0]?.value;

describe('couchdb: echo suppression between the sink and the source of one database', () => {
  it('does not re-publish the revisions the sink wrote, but publishes a later edit by an application', async () => {
    const database = await couch.createDatabase('echo');
    const db = testDatabase(couch.url, database);
    // One daemon: its source and sink share the plugin store (scope couchdb:<url>/<db>).
    const state = new MemoryPluginState();
    const controller = new AbortController();
    const options = { url: couch.url, database };
    const sink = await instantiate(couchdbSink, options, createTestContext({ kind: 'sink', name: 'in', state }));
    const source = await instantiate(
      couchdbSource,
      { ...options, longpollTimeoutMs: 500 },
      createTestContext({ kind: 'source', name: 'out', state, signal: controller.signal }),
    );
    const collector = new BatchCollector(source.start(undefined, controller.signal));
    try {
      const entry = objectEntry({ fields: { name: 'from a peer' } });
      const [outcome] = await sink.apply([{ entry, fields: ['name'] }], controller.signal);
      assert.equal(outcome?.status, 'applied');
      const id = outcome?.status === 'applied' ? outcome.localKey : '';

      // A write by an application after the sink's: once it is seen, the sink's was seen (or skipped) too.
      await db.put('marker-1', { name: 'marker' });
      await collector.waitFor('marker-1', (batches) => batches.flatMap((b) => b.changes).find((c) => idOf(c) === 'marker-1'), 10_000);
      assert.deepEqual(collector.changes.filter((change) => idOf(change) === id), [], "the sink's own write was re-published");

      await db.put(id, { ...(await db.get(id)), name: 'edited by an application' });
      const { change } = await collector.waitFor(
        'the application edit',
        (batches) => {
          for (const [batch, b] of batches.entries()) {
            const found = b.changes.find((c) => idOf(c) === id);
            if (found) return { change: found, batch };
          }
          return undefined;
        },
        10_000,
      );
      assert.equal(change.op, 'upsert');
      assert.equal(change.globalId, entry.id, 'the global id comes from the pubsync metadata');

      // A write on top of a revision the source may not have reported carries that edit too: it
      // is reported (the core tells the echo from the edit); the next one, on our own, is not.
      const carried = collector.changes.length;
      const revised = reviseEntry(entry, { title: 'from a peer' });
      const [onTop] = await sink.apply([{ entry: revised, fields: ['title'], localKey: id }], controller.signal);
      assert.equal(onTop?.status, 'applied');
      const { reported } = await collector.waitFor(
        'the write on top of the edit',
        (batches) => {
          const found = batches.flatMap((b) => b.changes).slice(carried).find((c) => idOf(c) === id);
          return found ? { reported: found } : undefined;
        },
        10_000,
      );
      const values = reported.op === 'upsert' ? Object.fromEntries(reported.fields.map((f) => [f.name, f.values])) : {};
      assert.deepEqual([values['name'], values['title']], [['edited by an application'], ['from a peer']]);

      const seenBefore = collector.changes.length;
      const [again] = await sink.apply([{ entry: reviseEntry(revised, { title: 'again' }), fields: ['title'], localKey: id }], controller.signal);
      assert.equal(again?.status, 'applied');
      const [deleted] = await sink.apply([{ entry: tombstoneOf(entry), fields: [], localKey: id }], controller.signal);
      assert.equal(deleted?.status, 'applied');
      await db.put('marker-2', { name: 'marker' });
      await collector.waitFor('marker-2', (batches) => batches.flatMap((b) => b.changes).find((c) => idOf(c) === 'marker-2'), 10_000);
      const later = collector.changes.slice(seenBefore);
      assert.deepEqual(later.filter((c) => idOf(c) === id), [], "the sink's next write or its delete was re-published");
    } finally {
      controller.abort();
      await collector.ended(10_000);
      await source.close?.();
      await sink.close?.();
    }
  });
});
