import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createTestContext } from '../../../src/testing/index.js';
import { KnownEntries, type KnownEntry } from '../../../plugins/ldap/known-entries.js';
import { deleteOf, keysOf } from '../../../plugins/ldap/mapping.js';
import { missingNames, schemaNames } from '../../../plugins/ldap/schema.js';

const A = 'aa000000-0000-1000-8000-000000000001';
const B = 'ab000000-0000-1000-8000-000000000002';
const C = 'cc000000-0000-1000-8000-000000000003';
const upsert = (uuid: string, dn: string) => ({ op: 'upsert' as const, keys: keysOf(uuid, dn), type: 'person', fields: [] });

async function all(known: KnownEntries, present: ReadonlyMap<string, KnownEntry> = new Map()): Promise<KnownEntry[]> {
  const out: KnownEntry[] = [];
  for await (const entry of known.missing(present)) out.push(entry);
  return out.sort((x, y) => x.uuid.localeCompare(y.uuid));
}

describe('known entries (for deletes lost with a purged log)', () => {
  it('follows adds, renames and deletes, and reports what a snapshot no longer has', async () => {
    const known = new KnownEntries(createTestContext().store());
    await known.record([upsert(A, 'cn=a'), upsert(B, 'cn=b'), upsert(C, 'cn=c')]);
    await known.record([upsert(A, 'cn=a2'), deleteOf(C, 'cn=c', 'person', undefined)]);
    assert.deepEqual(await all(known), [
      { uuid: A, dn: 'cn=a2', type: 'person' },
      { uuid: B, dn: 'cn=b', type: 'person' },
    ]);
    assert.deepEqual(await all(known, new Map([[A, { uuid: A, dn: 'cn=a2', type: 'person' }]])), [
      { uuid: B, dn: 'cn=b', type: 'person' },
    ]);
  });

  it('is replaced wholesale by a complete snapshot', async () => {
    const known = new KnownEntries(createTestContext().store());
    await known.record([upsert(A, 'cn=a'), upsert(B, 'cn=b')]);
    await known.replace(new Map([[C, { uuid: C, dn: 'cn=c', type: 'device' }]]));
    assert.deepEqual(await all(known), [{ uuid: C, dn: 'cn=c', type: 'device' }]);
  });
});

describe('schema names', () => {
  it('reads NAMEs (single and lists) and OIDs from RFC 4512 descriptions, and compares them', () => {
    const origin = schemaNames({
      attributeTypes: [
        "( 2.5.4.3 NAME ( 'cn' 'commonName' ) DESC 'RFC4519: common name(s) for which the entity is known by' SUP name )",
        "( 1.3.6.1.4.1.99999.2 NAME 'widgetColour' EQUALITY caseIgnoreMatch )",
      ],
      objectClasses: ["( 2.5.6.8 NAME 'organizationalRole' SUP top STRUCTURAL MUST cn )"],
    });
    assert.ok(origin.attributeTypes.has('commonname') && origin.attributeTypes.has('2.5.4.3'));
    const local = schemaNames({ attributeTypes: ["( 2.5.4.3 NAME ( 'cn' 'commonName' ) )"], objectClasses: [] });
    assert.deepEqual(missingNames(local, origin), { attributeTypes: ['widgetcolour'], objectClasses: ['organizationalrole'] });
  });
});
