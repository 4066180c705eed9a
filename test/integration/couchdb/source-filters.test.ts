import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { ErrorCodes } from '../../../src/errors/index.js';
import { BatchCollector, createTestContext, instantiate } from '../../../src/testing/index.js';
import type { SourceChange } from '../../../src/plugin-api/index.js';
import { couchdbSource } from '../../../plugins/couchdb/index.js';
import { startCouchDb, type CouchDb } from '../../harness/couchdb.js';
import { testDatabase } from './couch-fixture.js';

let couch: CouchDb;
before(async () => {
  couch = await startCouchDb();
});
after(() => couch.stop());

const idOf = (change: SourceChange): string | undefined => change.keys[0]?.value;

/** Starts a source over a fresh database; `run` writes and waits; the source is stopped afterwards. */
async function withSource(
  options: Record<string, unknown>,
  run: (db: ReturnType<typeof testDatabase>, collector: BatchCollector) => Promise<void>,
  logger?: pino.Logger,
): Promise<void> {
  const database = await couch.createDatabase('filters');
  const db = testDatabase(couch.url, database);
  const controller = new AbortController();
  const source = await instantiate(
    couchdbSource,
    { url: couch.url, database, longpollTimeoutMs: 500, ...options },
    createTestContext({ kind: 'source', signal: controller.signal, ...(logger ? { logger } : {}) }),
  );
  const collector = new BatchCollector(source.start(undefined, controller.signal));
  try {
    await run(db, collector);
  } finally {
    controller.abort();
    await collector.ended(10_000);
  }
}

function waitForId(collector: BatchCollector, id: string, op: SourceChange['op'] = 'upsert'): Promise<SourceChange> {
  return collector.waitFor(`${op} of ${id}`, (batches) => batches.flatMap((b) => b.changes).find((c) => idOf(c) === id && c.op === op), 10_000);
}

describe('couchdb source: what is published', () => {
  it('skips design documents unless includeDesign, and takes type and tags from the configured fields', async () => {
    await withSource({ typeField: 'kind', tagsField: 'labels' }, async (db, collector) => {
      await db.db.insert({ _id: '_design/app', views: {} });
      await db.put('contact-1', { kind: 'contact', labels: ['friends', 'work'], name: 'Ada' });
      const change = await waitForId(collector, 'contact-1');
      assert.equal(change.type, 'contact');
      assert.deepEqual(change.op === 'upsert' && change.tags, ['friends', 'work']);
      assert.deepEqual(change.op === 'upsert' && change.fields.map((f) => f.name), ['name']);
      assert.equal(collector.changes.find((c) => idOf(c) === '_design/app'), undefined);
    });
    await withSource({ includeDesign: true }, async (db, collector) => {
      await db.db.insert({ _id: '_design/app', views: {} });
      await waitForId(collector, '_design/app');
    });
  });

  it('publishes only documents matching the selector, and deletes whatever they match', async () => {
    await withSource({ selector: { type: 'contact' } }, async (db, collector) => {
      await db.put('other', { type: 'memo', name: 'not published' });
      await db.put('contact', { type: 'contact', name: 'published' });
      await waitForId(collector, 'contact');
      await db.remove('contact');
      await waitForId(collector, 'contact', 'delete');
      assert.equal(collector.changes.find((c) => idOf(c) === 'other'), undefined);
    });
  });

  it('publishes only the configured types', async () => {
    await withSource({ types: ['contact'] }, async (db, collector) => {
      await db.put('memo', { type: 'memo', name: 'not published' });
      await db.put('contact', { type: 'contact', name: 'published' });
      await waitForId(collector, 'contact');
      assert.equal(collector.changes.find((c) => idOf(c) === 'memo'), undefined);
    });
  });

  it('carries attachments above maxAttachmentBytes by reference (name, length, digest, href) and the rest as bytes', async () => {
    await withSource({ maxAttachmentBytes: 10 }, async (db, collector) => {
      await db.db.insert({
        _id: 'mixed',
        name: 'mixed',
        _attachments: {
          'small.txt': { content_type: 'text/plain', data: Buffer.from('héllo').toString('base64') },
          'large.bin': { content_type: 'application/octet-stream', data: Buffer.alloc(100, 7).toString('base64') },
        },
      });
      const change = await waitForId(collector, 'mixed');
      assert.equal(change.op, 'upsert');
      if (change.op !== 'upsert') return;
      assert.deepEqual(
        change.attachments?.map((a) => [a.name, a.contentType, Buffer.from(a.data).toString('utf8')]),
        [['small.txt', 'text/plain', 'héllo']],
      );
      const refs = change.fields.find((f) => f.name === 'couchdbAttachmentRefs');
      const [ref] = (refs?.values[0] ?? []) as { name: string; length: number; digest: string; href: string }[];
      assert.equal(ref?.name, 'large.bin');
      assert.equal(ref?.length, 100);
      assert.match(ref?.digest ?? '', /^md5-/);
      assert.match(ref?.href ?? '', /\/mixed\/large\.bin\?rev=1-/);
    });
  });

  // Last: the restart empties the server's databases.
  it('keeps its iteration across a server restart, reconnecting with backoff', async () => {
    const lines: { code?: string; msg?: string }[] = [];
    const logger = pino(
      { level: 'warn' },
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(JSON.parse(chunk.toString()) as { code?: string });
          done();
        },
      }),
    );
    await withSource(
      { reconnectMinMs: 50, reconnectMaxMs: 200 },
      async (db, collector) => {
        await db.put('before', { name: 'before' });
        await waitForId(collector, 'before');
        await couch.restart();
        // In-memory server: it comes back empty and counts seqs from 1 again, so the source (at
        // seq 1) sees the second write after the restart.
        await db.put('after-1', { name: 'after 1' });
        await db.put('after-2', { name: 'after 2' });
        await waitForId(collector, 'after-2');
        assert.ok(
          lines.some((line) => line.code === ErrorCodes.COUCHDB_UNREACHABLE),
          'the outage was logged as PUBSYNC_ERR_COUCHDB_UNREACHABLE and retried in the same iteration',
        );
      },
      logger,
    );
  });
});
