// Hand-written sample entries used by the parser, writer and schema tests.
import { createHash } from 'node:crypto';
import type { Batch, ObjectEntry, TombstoneEntry } from '../../../src/format/index.js';

export const CSN = '20240501120000.000001Z#000000#001#000000';
export const FIELD_CSN = '20240430080000.000000Z#000002#001#000000';
const photo = new Uint8Array([0x89, 0x50, 0x4e, 0x47]);

export const sampleEntry: ObjectEntry = {
  id: 'urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e',
  deleted: false,
  origin: { jid: 'pubsync@example.org/ldap', replica: 1 },
  type: 'person',
  title: 'Alice Example',
  tags: ['staff', 'paris'],
  keys: [
    { scheme: 'ldap-dn', value: 'cn=Alice Example,ou=people,dc=example,dc=org' },
    { scheme: 'ldap-entryuuid', value: '7d444840-9dc0-11d1-b245-5ffdce74fad2' },
  ],
  csn: CSN,
  fields: [
    { name: 'cn', type: 'string', csn: CSN, values: ['Alice Example'] },
    { name: 'uidNumber', type: 'integer', csn: FIELD_CSN, values: [1001n] },
    { name: 'quota', type: 'decimal', csn: FIELD_CSN, values: ['12.50'] },
    { name: 'active', type: 'boolean', csn: FIELD_CSN, values: [true] },
    { name: 'born', type: 'datetime', csn: FIELD_CSN, values: ['1990-02-03T04:05:06Z'] },
    { name: 'photoThumb', type: 'binary', csn: FIELD_CSN, values: [photo] },
    { name: 'prefs', type: 'json', csn: FIELD_CSN, values: [{ lang: 'fr', n: [1, 2] }] },
    { name: 'mail', type: 'string', csn: FIELD_CSN, values: [] },
  ],
  changed: ['cn'],
  children: [{ id: 'p1', type: 'parameter', csn: FIELD_CSN, fields: [{ name: 'value', type: 'string', csn: FIELD_CSN, values: ['x'] }] }],
  attachments: [
    {
      name: 'photo.png',
      contentType: 'image/png',
      length: photo.byteLength,
      sha256: createHash('sha256').update(photo).digest('hex'),
      csn: FIELD_CSN,
      data: photo,
    },
    {
      name: 'video.mp4',
      contentType: 'video/mp4',
      length: 1_000_000,
      sha256: 'a'.repeat(64),
      csn: FIELD_CSN,
      href: 'https://sync.example.org/attachments/0f8fad5b/video.mp4',
    },
  ],
};

export const sampleTombstone: TombstoneEntry = {
  id: 'urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e',
  deleted: true,
  origin: { jid: 'pubsync@example.org/ldap', replica: 1 },
  type: 'person',
  tags: ['staff'],
  keys: [{ scheme: 'ldap-dn', value: 'cn=Alice Example,ou=people,dc=example,dc=org' }],
  csn: '20240501120500.000000Z#000000#001#000000',
};

export const sampleBatch: Batch = {
  origin: { jid: 'pubsync@example.org/ldap', replica: 1 },
  firstSeq: 41n,
  lastSeq: 42n,
  entries: [sampleEntry, sampleTombstone],
};
