import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderOperation } from '../../../src/app/dry-run-diff.js';
import type { ObjectEntry, TombstoneEntry } from '../../../src/format/model.js';

const base = {
  id: 'urn:uuid:00000000-0000-4000-8000-000000000001',
  origin: { jid: 'a@x', replica: 1 },
  type: 'contact',
  tags: [],
  keys: [{ scheme: 'couchdb-id', value: 'ada' }],
  csn: 'C2',
};

const entry: ObjectEntry = {
  ...base,
  deleted: false,
  fields: [
    { name: 'name', type: 'string', csn: 'C2', values: ['Ada Lovelace'] },
    { name: 'age', type: 'integer', csn: 'C1', values: [36n] },
    { name: 'mail', type: 'string', csn: 'C2', values: ['a@x', 'ada@y'] },
    { name: 'photo', type: 'binary', csn: 'C2', values: [new Uint8Array(5)] },
  ],
  changed: ['name'],
  children: [],
  attachments: [{ name: 'cv.pdf', contentType: 'application/pdf', length: 900, sha256: 'ab'.repeat(32), csn: 'C2' }],
};

describe('dry-run diff', () => {
  it('an object the sink has: old CSN -> new CSN and the new values of the fields the merge writes', () => {
    const lines = renderOperation({
      sink: 'cms',
      entry,
      fields: ['name', 'mail', 'photo', 'attachment:cv.pdf'],
      before: { globalId: base.id, localKey: 'doc-ada', csns: { name: 'C1', age: 'C1' }, csn: 'C1', deleted: false },
    });
    assert.deepEqual(lines, [
      'cms: ~ urn:uuid:00000000-0000-4000-8000-000000000001 (contact, couchdb-id=ada, local key doc-ada)',
      '    name: C1 -> C2  "Ada Lovelace"',
      '    mail: (none) -> C2  ["a@x", "ada@y"]',
      '    photo: (none) -> C2  <5 bytes>',
      '    attachment:cv.pdf: (none) -> C2  application/pdf, 900 bytes, sha256 abababababab',
    ]);
  });

  it('a new object is marked + and says so', () => {
    const lines = renderOperation({ sink: 'cms', entry, fields: ['age'], before: undefined });
    assert.deepEqual(lines, ['cms: + urn:uuid:00000000-0000-4000-8000-000000000001 (contact, couchdb-id=ada, new)', '    age: (none) -> C1  36']);
  });

  it('an object our own sources captured: its old values from our outbound log', () => {
    const local: ObjectEntry = { ...entry, csn: 'C0', fields: [{ name: 'name', type: 'string', csn: 'C0', values: ['Ada'] }] };
    const lines = renderOperation({ sink: 'cms', entry, fields: ['name', 'mail'], before: undefined, local });
    assert.deepEqual(lines, [
      'cms: ~ urn:uuid:00000000-0000-4000-8000-000000000001 (contact, couchdb-id=ada)',
      '    name: C0 -> C2  "Ada Lovelace"  (was "Ada")',
      '    mail: (none) -> C2  ["a@x", "ada@y"]  (was absent)',
    ]);
  });

  it('a delete is one line with its CSN', () => {
    const tombstone: TombstoneEntry = { ...base, csn: 'C3', deleted: true };
    const lines = renderOperation({ sink: 'cms', entry: tombstone, fields: [], before: { globalId: base.id, localKey: 'doc-ada', csns: {}, csn: 'C2', deleted: false } });
    assert.deepEqual(lines, ['cms: - urn:uuid:00000000-0000-4000-8000-000000000001 (contact, couchdb-id=ada, local key doc-ada) delete at C3']);
  });

  it('cuts long values', () => {
    const long: ObjectEntry = { ...entry, fields: [{ name: 'bio', type: 'string', csn: 'C2', values: ['x'.repeat(500)] }] };
    const [, line] = renderOperation({ sink: 'cms', entry: long, fields: ['bio'], before: undefined });
    assert.ok(line !== undefined && line.length < 160 && line.endsWith('...'), line);
  });
});
