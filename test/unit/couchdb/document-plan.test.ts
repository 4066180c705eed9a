import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planDocument, type PlanInput } from '../../../plugins/couchdb/document-plan.js';
import type { DocumentLayout } from '../../../plugins/couchdb/mapping.js';
import { ErrorCodes } from '../../../src/errors/index.js';
import { ABSENT_PART, partHash } from '../../../src/plugin-api/index.js';
import { objectEntry, reviseEntry, tombstoneOf } from '../../../src/testing/index.js';

const layout: DocumentLayout = { typeField: 'type', tagsField: 'tags', metaField: 'pubsync', defaultType: 'document' };
const writer = { replica: 7 };

function plan(input: Omit<PlanInput, 'layout' | 'writer' | 'id'>) {
  return planDocument({ id: 'doc', layout, writer, ...input });
}

describe('couchdb document plan', () => {
  it('creates a document with the fields, type, tags and metadata', () => {
    const entry = objectEntry({ type: 'note', tags: ['t'], fields: { name: 'a' } });
    const result = plan({ entry, fields: ['name'], current: { state: 'missing' } });
    assert.equal(result.kind, 'write');
    const doc = result.kind === 'write' ? result.doc : assert.fail();
    assert.equal(doc['name'], 'a');
    assert.equal(doc['type'], 'note');
    assert.deepEqual(doc['tags'], ['t']);
    assert.equal(doc._rev, undefined);
    assert.deepEqual((doc['pubsync'] as { fields: object }).fields, { name: entry.csn });
  });

  it('leaves a property the application changed since the core last saw it (optimistic concurrency)', () => {
    const entry = objectEntry({ fields: { name: 'a' } });
    const first = plan({ entry, fields: ['name'], current: { state: 'missing' } });
    const asWritten = first.kind === 'write' ? first.doc : assert.fail();
    const expected = { name: partHash({ name: 'name', type: 'string', values: ['a'] }) };
    const revised = reviseEntry(entry, { name: 'from a peer' });
    const edited = { ...asWritten, _rev: '2-y', name: 'edited here, not captured yet' };
    const kept = plan({ entry: revised, fields: ['name'], expected, current: { state: 'live', rev: '2-y', doc: edited } });
    if (kept.kind === 'write') assert.equal(kept.doc['name'], 'edited here, not captured yet', "the application's edit stays");
    const unchanged = { ...asWritten, _rev: '2-y' };
    const written = plan({ entry: revised, fields: ['name'], expected, current: { state: 'live', rev: '2-y', doc: unchanged } });
    assert.equal(written.kind === 'write' ? written.doc['name'] : undefined, 'from a peer');
  });

  it('does not bring back a document deleted since the core saw it, but creates one it never saw', () => {
    const entry = reviseEntry(objectEntry({ fields: { name: 'a' } }), { name: 'from a peer' });
    const held = { name: partHash({ name: 'name', type: 'string', values: ['a'] }) };
    const left = plan({ entry, fields: ['name'], expected: held, current: { state: 'deleted', rev: '3-d' } });
    assert.equal(left.kind === 'done' ? left.outcome.status : left.kind, 'skipped', 'the delete made here wins once captured');
    const created = plan({ entry, fields: ['name'], expected: { name: ABSENT_PART }, current: { state: 'deleted', rev: '3-d' } });
    assert.equal(created.kind === 'write' ? created.doc['name'] : undefined, 'from a peer');
  });

  it('deletes of a document changed since the core saw it only what the core saw', () => {
    const entry = objectEntry({ fields: { name: 'a', phone: '1' } });
    const first = plan({ entry, fields: ['name', 'phone'], current: { state: 'missing' } });
    const asWritten = first.kind === 'write' ? first.doc : assert.fail();
    const expected = {
      name: partHash({ name: 'name', type: 'string', values: ['a'] }),
      phone: partHash({ name: 'phone', type: 'string', values: ['1'] }),
    };
    const edited = { ...asWritten, _rev: '2-y', name: 'edited here' };
    const kept = plan({ entry: tombstoneOf(entry), fields: [], expected, current: { state: 'live', rev: '2-y', doc: edited } });
    const doc = kept.kind === 'write' ? kept.doc : assert.fail('the document is written, not deleted');
    assert.equal(doc._deleted, undefined);
    assert.deepEqual([doc['name'], doc['phone']], ['edited here', undefined], 'the edit stays, the rest goes');
    assert.deepEqual(kept.kind === 'write' ? kept.left : undefined, ['name'], 'the sink tells the core what it left');
    const deleted = plan({ entry: tombstoneOf(entry), fields: [], expected, current: { state: 'live', rev: '2-y', doc: { ...asWritten, _rev: '2-y' } } });
    assert.equal(deleted.kind === 'write' ? deleted.doc._deleted : undefined, true);
  });

  it('skips what is already there, and keeps properties the operation does not name', () => {
    const entry = objectEntry({ fields: { name: 'a' } });
    const first = plan({ entry, fields: ['name'], current: { state: 'missing' } });
    const written = { ...(first.kind === 'write' ? first.doc : assert.fail()), _rev: '1-x', extra: 'kept' };
    const again = plan({ entry, fields: ['name'], current: { state: 'live', rev: '1-x', doc: written } });
    assert.deepEqual(again, { kind: 'done', outcome: { status: 'skipped', reason: 'unchanged' } });
    const revised = reviseEntry(entry, { name: 'b' });
    const update = plan({ entry: revised, fields: ['name'], current: { state: 'live', rev: '1-x', doc: written } });
    const doc = update.kind === 'write' ? update.doc : assert.fail();
    assert.equal(doc._rev, '1-x');
    assert.equal(doc['extra'], 'kept');
    assert.equal(doc['name'], 'b');
  });

  it('keeps a field whose CSN in the document is later than the entry\'s', () => {
    const entry = objectEntry({ fields: { name: 'old' } });
    const current = {
      _id: 'doc',
      _rev: '2-y',
      name: 'newer',
      pubsync: { id: entry.id, csn: 'z', origin: entry.origin, fields: { name: '99999999999999.999999Z#000000#002#000000' } },
    };
    const result = plan({ entry, fields: ['name'], current: { state: 'live', rev: '2-y', doc: current } });
    const doc = result.kind === 'write' ? result.doc : assert.fail(JSON.stringify(result));
    assert.equal(doc['name'], 'newer');
    assert.equal((doc['pubsync'] as { fields: Record<string, string> }).fields['name'], current.pubsync.fields.name);
  });

  it('deletes a live document with its metadata kept in the tombstone, and skips a missing one', () => {
    const entry = objectEntry({ fields: { name: 'a' } });
    const tombstone = tombstoneOf(entry);
    const result = plan({ entry: tombstone, fields: [], current: { state: 'live', rev: '3-z', doc: { _id: 'doc' } } });
    const doc = result.kind === 'write' ? result.doc : assert.fail();
    assert.equal(doc._deleted, true);
    assert.equal(doc._rev, '3-z');
    assert.equal((doc['pubsync'] as { id: string }).id, entry.id);
    assert.equal(plan({ entry: tombstone, fields: [], current: { state: 'deleted', rev: '4-a' } }).kind, 'done');
  });

  it('writes inline attachments and rejects one that came by reference, never dropping it', () => {
    const attachment = { name: 'a.bin', contentType: 'application/octet-stream', length: 2, sha256: 'ab', csn: 'c' };
    const inline = objectEntry({ attachments: [{ ...attachment, data: new Uint8Array([1, 2]) }] });
    const result = plan({ entry: inline, fields: ['attachment:a.bin'], current: { state: 'missing' } });
    const doc = result.kind === 'write' ? result.doc : assert.fail();
    assert.deepEqual(doc._attachments, { 'a.bin': { content_type: 'application/octet-stream', data: 'AQI=' } });

    const referenced = objectEntry({ attachments: [{ ...attachment, href: 'xmpp:a@b?pubsync;attachment=ab' }] });
    const refused = plan({ entry: referenced, fields: ['attachment:a.bin'], current: { state: 'missing' } });
    assert.equal(refused.kind === 'done' && refused.outcome.status === 'rejected' && refused.outcome.code, ErrorCodes.COUCHDB_ATTACHMENT_BY_REFERENCE);
  });
});
