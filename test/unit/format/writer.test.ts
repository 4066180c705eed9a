import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCodes, isSyncError } from '../../../src/errors/index.js';
import { serializeEntry, serializeFeed, type Entry, type ObjectEntry } from '../../../src/format/index.js';
import { CSN, sampleBatch, sampleEntry, sampleTombstone } from './fixtures.js';

function expectInvalid(write: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(write, (error: unknown) => {
    assert.ok(isSyncError(error), `a SyncError, got ${String(error)}`);
    assert.equal(error.code, ErrorCodes.FORMAT_INVALID);
    assert.equal(error.kind, 'record');
    for (const pattern of patterns) assert.match(error.message, pattern);
    return true;
  });
}

const withField = (field: unknown): ObjectEntry => ({ ...sampleEntry, fields: [field as ObjectEntry['fields'][number]] });

describe('writer', () => {
  test('writes the documented shape, compact', () => {
    const xml = serializeEntry(sampleEntry);
    assert.ok(xml.startsWith('<entry xmlns="http://www.w3.org/2005/Atom" xmlns:ps="urn:xmpp:pubsync:entry:1"><id>urn:uuid:'));
    assert.match(xml, /<updated>2024-05-01T12:00:00.000001Z<\/updated>/);
    assert.match(xml, /<author><name>pubsync@example.org\/ldap<\/name><uri>xmpp:pubsync@example.org\/ldap<\/uri><\/author>/);
    assert.match(xml, /<category scheme="urn:pubsync:type" term="person"\/><category scheme="urn:pubsync:tag" term="staff"\/>/);
    assert.match(xml, /<content type="application\/xml"><object xmlns="urn:xmpp:pubsync:entry:1" type="person" csn="/);
    assert.doesNotMatch(xml, />\s+</, 'no indentation');
    const tombstone = serializeEntry(sampleTombstone);
    assert.match(tombstone, /^<at:deleted-entry xmlns="http:\/\/www.w3.org\/2005\/Atom" xmlns:at="http:\/\/purl.org\/atompub\/tombstones\/1.0" ref="urn:uuid:[^"]+" when="2024-05-01T12:05:00.000000Z">/);
    assert.match(serializeFeed(sampleBatch), /<ps:batch first-seq="41" last-seq="42"><ps:origin jid="pubsync@example.org\/ldap" replica="1"\/><\/ps:batch><entry>/);
  });

  test('marks a generated title and escapes what XML cannot hold', () => {
    const { title: _title, ...untitled } = sampleEntry;
    assert.match(serializeEntry(untitled), /<title ps:generated="true">person urn:uuid:/);
    const xml = serializeEntry({ ...sampleEntry, title: 'a\u0000b', tags: ['x\u0001'], changed: ['\r\n'] });
    assert.match(xml, /<title ps:enc="base64">YQBi<\/title>/);
    assert.match(xml, /term="eAE=" ps:enc="base64"/);
    assert.match(xml, /<changed>&#13;\n<\/changed>/);
  });

  test('refuses entries it could not read back', () => {
    expectInvalid(() => serializeEntry({ ...sampleEntry, id: 'cn=x' }), /entry "cn=x"/, /id: "cn=x" is not a urn:uuid/);
    expectInvalid(() => serializeEntry({ ...sampleEntry, csn: 'now' }), /csn: "now" is not a CSN/);
    expectInvalid(() => serializeEntry({ ...sampleEntry, type: '' }), /type: must be a non-empty string/);
    expectInvalid(() => serializeEntry({ ...sampleEntry, origin: { jid: 'a\u0000', replica: 1 } }), /origin jid/);
    expectInvalid(() => serializeEntry({ ...sampleEntry, origin: { jid: 'a', replica: 4096 } }), /replica 4096/);
    expectInvalid(() => serializeEntry({ ...sampleEntry, keys: [{ scheme: '', value: 'x' }] }), /keys\[0\]\.scheme/);
    expectInvalid(() => serializeEntry({ ...sampleEntry, tombstone: 'then' }), /tombstone: "then" is not a CSN/);
    expectInvalid(() => serializeEntry({ ...sampleEntry, tombstone: sampleEntry.csn }), /tombstone: must be older than the revision csn/);
  });

  test('refuses values that do not match the field type', () => {
    const field = (type: string, value: unknown): ObjectEntry => withField({ name: 'f', type, csn: CSN, values: [value] });
    expectInvalid(() => serializeEntry(field('integer', 5)), /field "f" value 1: expected a bigint/);
    expectInvalid(() => serializeEntry(field('decimal', '1e5')), /expected decimal text/);
    expectInvalid(() => serializeEntry(field('boolean', 'true')), /expected a boolean/);
    expectInvalid(() => serializeEntry(field('datetime', '2024-02-30T00:00:00Z')), /RFC 3339/);
    expectInvalid(() => serializeEntry(field('binary', [1, 2])), /expected a Uint8Array/);
    expectInvalid(() => serializeEntry(field('json', Number.NaN)), /not JSON: NaN/);
    expectInvalid(() => serializeEntry(field('json', { a: undefined })), /not JSON/);
    expectInvalid(() => serializeEntry(field('json', 1n)), /not JSON/);
    expectInvalid(() => serializeEntry(field('float', 1)), /unknown type "float"/);
    expectInvalid(() => serializeEntry(withField({ name: 'f', type: 'string', csn: 'x', values: [] })), /field "f" csn/);
  });

  test('refuses inconsistent attachments', () => {
    const [inline, linked] = sampleEntry.attachments;
    assert.ok(inline && linked);
    const entry = (attachment: unknown): ObjectEntry => ({ ...sampleEntry, attachments: [attachment as typeof inline] });
    expectInvalid(() => serializeEntry(entry({ ...inline, length: 5 })), /length 5 but data has 4 bytes/);
    expectInvalid(() => serializeEntry(entry({ ...inline, sha256: linked.sha256 })), /sha256 does not match/);
    expectInvalid(() => serializeEntry(entry({ ...inline, href: 'https://x' })), /exactly one of data/);
    const { href: _href, ...neither } = linked;
    expectInvalid(() => serializeEntry(entry(neither)), /exactly one of data/);
    expectInvalid(() => serializeEntry(entry({ ...linked, sha256: 'ABC' })), /64 lowercase hex/);
  });

  test('refuses malformed input from untyped callers with a record error', () => {
    expectInvalid(() => serializeEntry(null as unknown as Entry), /expected an entry object/);
    expectInvalid(() => serializeEntry({ ...sampleEntry, fields: null } as unknown as Entry), /cannot serialize entry/);
    expectInvalid(() => serializeEntry({ ...sampleEntry, deleted: 'no' } as unknown as Entry), /deleted/);
  });

  test('refuses bad batches, naming the entry', () => {
    expectInvalid(() => serializeFeed({ ...sampleBatch, firstSeq: 50n }), /firstSeq: 50 is after lastSeq 42/);
    expectInvalid(() => serializeFeed({ ...sampleBatch, lastSeq: 2n ** 64n }), /lastSeq/);
    expectInvalid(() => serializeFeed({ ...sampleBatch, entries: [sampleEntry, { ...sampleTombstone, csn: 'x' }] }), /batch entry 2 "urn:uuid:/);
  });
});
