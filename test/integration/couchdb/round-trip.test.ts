import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ErrorCodes } from '../../../src/errors/index.js';
import { startCouchDb, type CouchDb } from '../../harness/couchdb.js';
import { testDatabase, type TestDatabase } from './couch-fixture.js';
import { couchdbSink, couchdbSource } from '../../../plugins/couchdb/index.js';
import { Relay } from '../../support/relay.js';

// Two servers: the origin database A on one, the replica B on the other.
let serverA: CouchDb;
let serverB: CouchDb;
const relays: Relay[] = [];

before(async () => {
  [serverA, serverB] = await Promise.all([startCouchDb(), startCouchDb()]);
});
after(async () => {
  for (const relay of relays) await relay.close();
  await Promise.all([serverA.stop(), serverB.stop()]);
});

interface Setup {
  relay: Relay;
  a: TestDatabase;
  b: TestDatabase;
}

async function setup(sourceOptions: Record<string, unknown> = {}): Promise<Setup> {
  const [nameA, nameB] = await Promise.all([serverA.createDatabase('origin'), serverB.createDatabase('replica')]);
  const relay = new Relay({
    source: {
      definition: couchdbSource,
      options: { url: serverA.url, database: nameA, longpollTimeoutMs: 500, reconnectMinMs: 50, reconnectMaxMs: 500, ...sourceOptions },
    },
    sink: { definition: couchdbSink, options: { url: serverB.url, database: nameB } },
  });
  relays.push(relay);
  return { relay, a: testDatabase(serverA.url, nameA), b: testDatabase(serverB.url, nameB) };
}

async function attachmentOf(db: TestDatabase, id: string, name: string): Promise<Buffer | undefined> {
  const doc = (await db.db.get(id, { attachments: true })) as { _attachments?: Record<string, { data: string; content_type: string }> };
  const stub = doc._attachments?.[name];
  return stub ? Buffer.from(stub.data, 'base64') : undefined;
}

describe('couchdb: database A -> plugin -> database B on two servers', () => {
  it('carries creates, updates, attachments and deletes, with the document id and typed properties', async () => {
    const { relay, a, b } = await setup();
    await relay.startSource();
    const bytes = randomBytes(600); // under the core's inline limit in this fixture (1024)
    await a.db.insert({
      _id: 'doc-1',
      type: 'contact',
      tags: ['friends'],
      name: 'Ada',
      age: 36,
      ratio: 0.5,
      active: true,
      address: { city: 'London' },
      _attachments: { 'photo.bin': { content_type: 'application/octet-stream', data: bytes.toString('base64') } },
    });
    await relay.until('doc-1 in B', async () => (await b.get('doc-1')) !== undefined);
    const copy = await b.get('doc-1');
    assert.equal(copy?.['name'], 'Ada');
    assert.equal(copy?.['age'], 36);
    assert.equal(copy?.['ratio'], 0.5);
    assert.equal(copy?.['active'], true);
    assert.deepEqual(copy?.['address'], { city: 'London' });
    assert.equal(copy?.['type'], 'contact');
    assert.deepEqual(copy?.['tags'], ['friends']);
    const meta = copy?.['pubsync'] as { id: string; origin: { jid: string } };
    assert.match(meta.id, /^urn:uuid:/);
    assert.equal(meta.origin.jid, 'a@localhost');
    assert.deepEqual(await attachmentOf(b, 'doc-1', 'photo.bin'), bytes, 'the attachment arrives byte-identical');
    const stub = (copy?.['_attachments'] as Record<string, { content_type: string }>)['photo.bin'];
    assert.equal(stub?.content_type, 'application/octet-stream');

    await a.put('doc-1', { ...(await a.get('doc-1')), name: 'Ada Lovelace' });
    await relay.until('the update in B', async () => (await b.get('doc-1'))?.['name'] === 'Ada Lovelace');
    assert.deepEqual(await attachmentOf(b, 'doc-1', 'photo.bin'), bytes, 'the attachment survives an update');
    const updated = (await b.get('doc-1'))?.['pubsync'] as { id: string } | undefined;
    assert.equal(updated?.id, meta.id, 'the document keeps its global id across revisions');

    await a.remove('doc-1');
    await relay.until('the delete in B', async () => (await b.get('doc-1')) === undefined);
  });

  it('never drops an attachment: one above the inline limit is dead-lettered by the sink, not lost', async () => {
    const { relay, a, b } = await setup();
    await relay.startSource();
    await a.db.insert({
      _id: 'big',
      name: 'big',
      _attachments: { 'big.bin': { content_type: 'application/octet-stream', data: randomBytes(4096).toString('base64') } },
    });
    await relay.until('a dead letter', async () => relay.bStore.countDeadLetters() > 0);
    const [letter] = relay.bStore.listDeadLetters();
    assert.equal(letter?.code, ErrorCodes.COUCHDB_ATTACHMENT_BY_REFERENCE);
    assert.equal(await b.get('big'), undefined);
  });

  it('resumes after a daemon restart: changes made while it was down arrive, nothing is captured twice', async () => {
    const { relay, a, b } = await setup();
    await relay.startSource();
    await a.put('before', { name: 'before' });
    await relay.until('"before" in B', async () => (await b.get('before')) !== undefined);
    await relay.stopSource();

    await a.put('while-down', { name: 'while down' });
    await a.put('before', { ...(await a.get('before')), name: 'changed while down' });
    await relay.startSource();
    await relay.until('the changes made while down in B', async () => {
      const [down, changed] = await Promise.all([b.get('while-down'), b.get('before')]);
      return down !== undefined && changed?.['name'] === 'changed while down';
    });
    // The log holds: before (created), while-down, before (updated): the first capture was not repeated.
    assert.equal(relay.a.store.lastOutboundSeq(), 3n);
  });

  it('reconnects with backoff when the origin server restarts mid-stream', async () => {
    const { relay, a, b } = await setup();
    await relay.startSource();
    await a.put('first', { name: 'first' });
    await relay.until('"first" in B', async () => (await b.get('first')) !== undefined);

    // The embedded server keeps data in memory only: it comes back empty and counts seqs from 1
    // again, so the source (at seq 1) sees the second write after the restart, not the first.
    await serverA.restart();
    await a.put('after-1', { name: 'after restart 1' });
    await a.put('after-2', { name: 'after restart 2' });
    await relay.until('a write made after the restart in B', async () => (await b.get('after-2')) !== undefined);
  });

  it("sends a document B's validation function refuses to the dead-letter store and applies the rest", async () => {
    const { relay, a, b } = await setup();
    await b.forbidType('secret');
    await relay.startSource();
    await a.put('ok-1', { name: 'ok 1' });
    await a.put('refused', { name: 'refused', type: 'secret' });
    await a.put('ok-2', { name: 'ok 2' });
    await relay.until('ok-2 in B', async () => (await b.get('ok-2')) !== undefined);
    assert.ok(await b.get('ok-1'));
    assert.equal(await b.get('refused'), undefined);
    const letters = relay.bStore.listDeadLetters();
    assert.equal(letters.length, 1);
    assert.equal(letters[0]?.code, ErrorCodes.COUCHDB_REJECTED);
    assert.match(letters[0]?.message ?? '', /forbidden: documents of type secret are not allowed here/);
  });
});
