import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { docIdOf, fieldsOf, metaOf, propertyOf, tagsOf, typeOf, type DocumentLayout } from '../../../plugins/couchdb/mapping.js';
import { objectEntry } from '../../../src/testing/index.js';

const layout: DocumentLayout = { typeField: 'type', tagsField: 'tags', metaField: 'pubsync', defaultType: 'document' };

describe('couchdb mapping: document <-> neutral fields', () => {
  it('maps top-level properties by JSON type and leaves out _*, type, tags and the metadata', () => {
    const doc = {
      _id: 'x',
      _rev: '1-a',
      type: 'contact',
      tags: ['a', 'b'],
      pubsync: { id: 'urn:uuid:1' },
      name: 'Ada',
      age: 36,
      big: 2 ** 60,
      ratio: 0.25,
      active: false,
      address: { city: 'London' },
      list: [1, 2],
      nothing: null,
    };
    assert.deepEqual(fieldsOf(doc, layout), [
      { name: 'name', type: 'string', values: ['Ada'] },
      { name: 'age', type: 'integer', values: [36n] },
      { name: 'big', type: 'decimal', values: [String(2 ** 60)] },
      { name: 'ratio', type: 'decimal', values: ['0.25'] },
      { name: 'active', type: 'boolean', values: [false] },
      { name: 'address', type: 'json', values: [{ city: 'London' }] },
      { name: 'list', type: 'json', values: [[1, 2]] },
      { name: 'nothing', type: 'json', values: [null] },
    ]);
    assert.equal(typeOf(doc, layout), 'contact');
    assert.deepEqual(tagsOf(doc, layout), ['a', 'b']);
    assert.equal(typeOf({ _id: 'y' }, layout), 'document');
  });

  it('writes fields back as properties: one value as itself, several as an array, big integers as text', () => {
    assert.equal(propertyOf({ name: 'n', type: 'integer', csn: 'c', values: [36n] }), 36);
    assert.equal(propertyOf({ name: 'n', type: 'integer', csn: 'c', values: [2n ** 64n] }), '18446744073709551616');
    assert.equal(propertyOf({ name: 'n', type: 'decimal', csn: 'c', values: ['0.25'] }), 0.25);
    assert.equal(propertyOf({ name: 'n', type: 'decimal', csn: 'c', values: ['1.10'] }), '1.10');
    assert.deepEqual(propertyOf({ name: 'n', type: 'string', csn: 'c', values: ['a', 'b'] }), ['a', 'b']);
    assert.equal(propertyOf({ name: 'n', type: 'binary', csn: 'c', values: [new Uint8Array([1, 2])] }), 'AQI=');
  });

  it('reads the metadata only when it has a global id', () => {
    assert.equal(metaOf({ _id: 'x', pubsync: { csn: 'c' } }, layout), undefined);
    assert.equal(metaOf({ _id: 'x', pubsync: 'junk' }, layout), undefined);
    assert.equal(metaOf({ _id: 'x', pubsync: { id: 'urn:uuid:1' } }, layout)?.id, 'urn:uuid:1');
  });

  it('picks the document id: local key, then the couchdb-id key, then the UUID of the global id', () => {
    const entry = objectEntry({ id: 'urn:uuid:0f0e0d0c-0000-4000-8000-000000000000', keys: [{ scheme: 'ldap-dn', value: 'cn=x' }] });
    assert.equal(docIdOf(entry, 'local'), 'local');
    assert.equal(docIdOf({ ...entry, keys: [{ scheme: 'couchdb-id', value: 'doc-1' }] }, undefined), 'doc-1');
    assert.equal(docIdOf(entry, undefined), '0f0e0d0c-0000-4000-8000-000000000000');
  });
});
