import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCodes, isSyncError } from '../../../src/errors/index.js';
import { parseEntry, parseEntryElement, parseFeed, readXml, serializeEntry, serializeFeed, type ParseLimits } from '../../../src/format/index.js';
import type { ObjectEntry } from '../../../src/format/index.js';
import { FIELD_CSN, sampleBatch, sampleEntry, sampleTombstone } from './fixtures.js';

const ENTRY = serializeEntry(sampleEntry);
const TOMBSTONE = serializeEntry(sampleTombstone);
const FEED = serializeFeed(sampleBatch);
const { FORMAT_MALFORMED: MALFORMED, FORMAT_INVALID: INVALID, FORMAT_LIMIT: LIMIT } = ErrorCodes;

/** `xml` with `from` replaced (which must occur) by `to`. */
function edit(xml: string, from: string | RegExp, to: string): string {
  const edited = xml.replace(from, to);
  assert.notEqual(edited, xml, `edit ${String(from)} applies`);
  return edited;
}

function expectError(parse: () => unknown, code: string, ...patterns: RegExp[]): void {
  assert.throws(parse, (error: unknown) => {
    assert.ok(isSyncError(error), `a SyncError, got ${String(error)}`);
    assert.equal(error.kind, 'record');
    assert.equal(error.code, code, error.message);
    for (const pattern of patterns) assert.match(error.message, pattern);
    assert.equal(error.details.internal, undefined);
    return true;
  });
}

const entryWith = (from: string | RegExp, to: string, code: string, ...patterns: RegExp[]): void =>
  expectError(() => parseEntry(edit(ENTRY, from, to)), code, ...patterns);

describe('parser: XML well-formedness and safety', () => {
  test('refuses a DOCTYPE, so no entity expansion', () => {
    const bomb = `<?xml version="1.0"?><!DOCTYPE entry [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>${ENTRY.replace('Alice Example</title>', '&b;</title>')}`;
    expectError(() => parseEntry(bomb), MALFORMED, /DOCTYPE/, /line 1/);
  });

  test('refuses undefined entities but accepts the predefined ones and character references', () => {
    entryWith('Alice Example</title>', '&nbsp;</title>', MALFORMED, /undefined entity/);
    const refs = parseEntry(edit(ENTRY, 'Alice Example</title>', '&#65;&#x42;&amp;&lt;&gt;&quot;&apos;</title>'));
    assert.equal(refs.deleted === false && refs.title, 'AB&<>"\'');
  });

  test('refuses character references to characters XML cannot hold', () => {
    entryWith('Alice Example</title>', '&#1;</title>', MALFORMED, /character/);
    entryWith('Alice Example</title>', '&#xFFFE;</title>', MALFORMED);
  });

  test('refuses processing instructions and XML 1.1', () => {
    expectError(() => parseEntry(`<?evil x?>${ENTRY}`), MALFORMED, /processing instruction/);
    expectError(() => parseEntry(`<?xml version="1.1"?>${ENTRY}`), MALFORMED, /version 1.1/);
    assert.equal(parseEntry(`<?xml version="1.0" encoding="UTF-8"?>\n${ENTRY}\n`).id, sampleEntry.id);
  });

  test('reports truncation and broken markup with line and column', () => {
    expectError(() => parseEntry(ENTRY.slice(0, 200)), MALFORMED, /line \d+, column \d+/);
    expectError(() => parseEntry(ENTRY.replace('</title>', '</titel>')), MALFORMED, /close tag/);
    expectError(() => parseEntry(''), MALFORMED);
    expectError(() => parseEntry(`${ENTRY}<entry/>`), MALFORMED);
    expectError(() => parseEntry(123 as unknown as string), MALFORMED, /not a string/);
  });

  test('reports unbound prefixes', () => {
    entryWith('<content type', '<x:foo/><content type', MALFORMED, /prefix/);
  });

  test('accepts a BOM, whitespace between elements, comments and CDATA text', () => {
    // Only between tags: whitespace inside text-only elements would be data.
    assert.deepStrictEqual(parseEntry(`\ufeff${ENTRY.replace(/></g, '>\n  <')}`), sampleEntry);
    const relaxed = parseEntry(ENTRY.replace('<author>', '<!-- who -->\n<author>').replace('>Alice Example<', '><![CDATA[Alice]]> Example<'));
    assert.equal(relaxed.deleted === false && relaxed.title, 'Alice Example');
  });
});

describe('parser: structure and namespaces', () => {
  test('the root must be an Atom entry or a tombstone', () => {
    expectError(() => parseEntry(ENTRY.replace('xmlns="http://www.w3.org/2005/Atom"', 'xmlns="urn:other"')), INVALID, /expected atom:entry or at:deleted-entry, found \{urn:other\}entry/);
    expectError(() => parseEntry(FEED), INVALID, /found atom:feed/);
    expectError(() => parseFeed(ENTRY), INVALID, /expected atom:feed/);
  });

  test('Atom elements must be in the Atom namespace', () => {
    entryWith('<updated>', '<updated xmlns="urn:x">', INVALID, /expected atom:updated, found \{urn:x\}updated/, /\/atom:entry\/\{urn:x\}updated/);
  });

  test('pubsync elements must be in the pubsync namespace', () => {
    entryWith('<object xmlns="urn:xmpp:pubsync:entry:1"', '<object xmlns="urn:xmpp:pubsync:entry:2"', INVALID, /expected ps:object/);
  });

  test('missing required parts are named', () => {
    entryWith(/<updated>[^<]*<\/updated>/, '', INVALID, /expected atom:updated, found atom:author/);
    entryWith(/<origin [^>]*\/>/, '', INVALID, /expected ps:origin, found ps:key/);
    entryWith(/<content .*<\/content>/, '', INVALID, /missing atom:content in atom:entry/);
    entryWith(' csn="20240501120000.000001Z#000000#001#000000">', '>', INVALID, /missing attribute csn on ps:object/);
    expectError(() => parseEntry(edit(TOMBSTONE, / when="[^"]*"/, '')), INVALID, /missing attribute when/);
  });

  test('unknown elements, attributes, misplaced text and wrong order are refused', () => {
    entryWith('<changed>', '<extra/><changed>', INVALID, /unexpected element ps:extra in ps:object/);
    entryWith('<field type="integer"', '<field foo="1" type="integer"', INVALID, /unexpected attribute foo on ps:field/, /ps:field\[2\]/);
    entryWith('<origin ', '<origin xml:lang="en" ', INVALID, /unexpected attribute \{http:\/\/www.w3.org\/XML\/1998\/namespace\}lang/);
    entryWith('<changed>', 'loose text<changed>', INVALID, /unexpected text in ps:object/);
    entryWith('<name>cn</name>', '<name>cn<b/></name>', INVALID, /unexpected element ps:b in ps:name/);
    const moved = ENTRY.replace(/(<changed>cn<\/changed>)(<child .*<\/child>)/, '$2$1');
    expectError(() => parseEntry(moved), INVALID, /unexpected element ps:changed/);
  });

  test('error paths index repeated elements and carry line and column', () => {
    assert.throws(
      () => parseEntry(edit(ENTRY, '<v>1001</v>', '<v>10x1</v>')),
      (error: unknown) => {
        assert.ok(isSyncError(error));
        assert.match(error.message, /integer value: not an integer: "10x1" at \/atom:entry\/atom:content\/ps:object\/ps:field\[2\]\/ps:v \(line 1, column \d+\)/);
        assert.equal(error.details.path, '/atom:entry/atom:content/ps:object/ps:field[2]/ps:v');
        assert.equal(error.details.line, 1);
        return true;
      },
    );
  });
});

describe('parser: values and identities', () => {
  test('bad CSNs', () => {
    entryWith(/csn="20240430080000[^"]*"/, 'csn="20240430080000.000000Z#000002#001"', INVALID, /csn "20240430080000.000000Z#000002#001" is not a CSN/, /ps:field\[2\]/);
    entryWith(/csn="20240501120000[^"]*">/, 'csn="20240231120000.000001Z#000000#001#000000">', INVALID, /not a CSN/);
  });

  test('bad lexical forms of each value type', () => {
    entryWith('<v>12.50</v>', '<v>1.2e3</v>', INVALID, /decimal value: not a decimal/);
    entryWith('<v>12.50</v>', '<v>012.5</v>', INVALID, /not a decimal/);
    entryWith('<v>1001</v>', '<v>+1001</v>', INVALID, /not an integer/);
    entryWith('<v>1001</v>', '<v> 1001</v>', INVALID, /not an integer/);
    entryWith('<v>true</v>', '<v>TRUE</v>', INVALID, /boolean value: not a boolean/);
    entryWith('<v>1990-02-03T04:05:06Z</v>', '<v>1990-02-30T04:05:06Z</v>', INVALID, /not an RFC 3339 date-time/);
    entryWith('<v>1990-02-03T04:05:06Z</v>', '<v>1990-02-03 04:05:06Z</v>', INVALID, /not an RFC 3339 date-time/);
    entryWith('<v>iVBORw==</v>', '<v>iVBORw=</v>', INVALID, /binary value: not canonical base64/);
    entryWith('<v>iVBORw==</v>', '<v>iVBORx==</v>', INVALID, /not canonical base64/);
    entryWith('<v>iVBORw==</v>', '<v>iVBO Rw==</v>', INVALID, /not canonical base64/);
    entryWith('<v>{"lang":"fr","n":[1,2]}</v>', '<v>{lang:1}</v>', INVALID, /json value: not JSON/);
    entryWith('<v>{"lang":"fr","n":[1,2]}</v>', '<v/>', INVALID, /not JSON/);
    entryWith('<field type="integer"', '<field type="float"', INVALID, /unknown field type "float"/);
  });

  test('the base64 escape must decode to text and is allowed only on free text', () => {
    const escaped = parseEntry(edit(ENTRY, '<v>Alice Example</v>', '<v enc="base64">QWxpY2U=</v>'));
    assert.equal(escaped.deleted === false && escaped.fields[0]?.values[0], 'Alice');
    entryWith('<v>Alice Example</v>', '<v enc="base64">QWxp!2U=</v>', INVALID, /not canonical base64 of WTF-8/);
    entryWith('<v>Alice Example</v>', '<v enc="base64">/w==</v>', INVALID, /not canonical base64 of WTF-8/); // 0xff is no UTF-8
    entryWith('<v>Alice Example</v>', '<v enc="base64">7aCA7bCA</v>', INVALID, /WTF-8/); // a surrogate pair split in two
    entryWith('<v>Alice Example</v>', '<v enc="hex">41</v>', INVALID, /unknown encoding enc="hex"/);
    entryWith('<v>1001</v>', '<v enc="base64">MTAwMQ==</v>', INVALID, /unexpected attribute enc on ps:v/);
    entryWith('term="staff"', 'term="!!" ps:enc="base64"', INVALID, /ps:enc/);
  });

  test('identity checks', () => {
    entryWith(/<id>urn:uuid:[^<]*<\/id>/, '<id>urn:uuid:not-a-uuid</id>', INVALID, /is not a urn:uuid/);
    entryWith('replica="1"', 'replica="4096"', INVALID, /replica "4096" is not a decimal 0..4095/);
    entryWith('replica="1"', 'replica="01"', INVALID, /replica/);
    entryWith('scheme="ldap-dn"', 'scheme=""', INVALID, /scheme is empty/);
    entryWith('<content type="application/xml">', '<content type="text">', INVALID, /content type must be "application\/xml"/);
    entryWith('scheme="urn:pubsync:type"', 'scheme="urn:other"', INVALID, /scheme="urn:pubsync:type"/);
  });

  test('an object entry\'s tombstone is a CSN older than its revision; a tombstone has none', () => {
    const revived = serializeEntry({ ...sampleEntry, tombstone: FIELD_CSN });
    assert.equal((parseEntry(revived) as ObjectEntry).tombstone, FIELD_CSN);
    expectError(() => parseEntry(edit(revived, `tombstone="${FIELD_CSN}"`, 'tombstone="before"')), INVALID, /tombstone "before" is not a CSN/);
    expectError(() => parseEntry(edit(revived, `tombstone="${FIELD_CSN}"`, `tombstone="${sampleEntry.csn}"`)), INVALID, /is not older than the revision csn/);
    expectError(() => parseEntry(edit(TOMBSTONE, /csn="([^"]*)">/, `csn="$1" tombstone="${FIELD_CSN}">`)), INVALID, /tombstone/);
  });

  test('Atom data derived from the pubsync data must agree with it', () => {
    entryWith(/<updated>[^<]*<\/updated>/, '<updated>2024-05-01T12:00:00Z</updated>', INVALID, /atom:updated .* does not match the CSN time/);
    entryWith('term="person"', 'term="group"', INVALID, /does not match the object type/);
    entryWith('<name>pubsync@example.org/ldap</name>', '<name>mallory@example.org</name>', INVALID, /does not match the origin JID/);
    expectError(() => parseEntry(edit(TOMBSTONE, /when="[^"]*"/, 'when="2024-05-01T12:05:00.000001Z"')), INVALID, /when .* does not match the CSN time/);
  });

  test('attachments: data or href, matching length and sha256', () => {
    entryWith('<data>iVBORw==</data>', '<data>iVBOR!==</data>', INVALID, /ps:data is not canonical base64/);
    entryWith('length="4"', 'length="5"', INVALID, /ps:data has 4 bytes, the attachment says length="5"/);
    entryWith(/sha256="[0-9a-f]{64}" csn="20240430080000.000000Z#000002#001#000000"><name>photo/, `sha256="${'0'.repeat(64)}" csn="20240430080000.000000Z#000002#001#000000"><name>photo`, INVALID, /does not match the attachment sha256/);
    entryWith('<data>iVBORw==</data>', '', INVALID, /needs inline ps:data or an href/);
    entryWith('length="4"', 'length="4" href="https://x"', INVALID, /both inline ps:data and an href/);
    entryWith('sha256="aaaa', 'sha256="AAAA', INVALID, /64 lowercase hex digits/);
    entryWith('length="1000000"', 'length="-1"', INVALID, /not a non-negative decimal integer/);
  });

  test('feeds', () => {
    expectError(() => parseFeed(edit(FEED, 'first-seq="41"', 'first-seq="43"')), INVALID, /first-seq 43 is after last-seq 42/);
    expectError(() => parseFeed(edit(FEED, 'last-seq="42"', 'last-seq="18446744073709551616"')), INVALID, /unsigned 64-bit/);
    expectError(() => parseFeed(edit(FEED, '</feed>', '<title>late</title></feed>')), INVALID, /unexpected element atom:title in atom:feed/);
    expectError(() => parseFeed(edit(FEED, /<entry><id>[^<]*/, '<entry><id>urn:uuid:x')), INVALID, /\/atom:feed\/atom:entry\/atom:id/);
  });
});

describe('parser: limits', () => {
  const limited = (limits: Partial<ParseLimits>, xml = ENTRY): (() => unknown) => () => parseEntry(xml, limits);

  test('each limit is enforced with a limit error', () => {
    expectError(limited({ maxLength: 100 }), LIMIT, /characters, over the limit of 100/);
    expectError(limited({ maxDepth: 4 }), LIMIT, /nested deeper than 4/);
    expectError(limited({ maxElements: 20 }), LIMIT, /more than 20 elements/);
    expectError(limited({ maxFields: 3 }), LIMIT, /more than 3 ps:field elements/, /ps:field\[4\]/);
    expectError(limited({ maxValueLength: 10 }), LIMIT, /text longer than 10 characters/);
    expectError(limited({ maxItems: 1 }), LIMIT, /more than 1 (ps:key|atom:category)/);
    expectError(limited({ maxValues: 1 }, edit(ENTRY, '<v>x</v>', '<v>x</v><v>y</v>')), LIMIT, /more than 1 ps:v/);
    expectError(limited({ maxIntegerDigits: 3 }), LIMIT, /more than 3 digits/);
    expectError(limited({ maxJsonDepth: 1 }), LIMIT, /JSON nested deeper than 1/);
    expectError(() => parseFeed(FEED, { maxEntries: 1 }), LIMIT, /more than 1 entries/);
  });

  test('bad limits are a configuration error', () => {
    assert.throws(() => parseEntry(ENTRY, { maxDepth: 0 }), (e: unknown) => isSyncError(e) && e.kind === 'config');
  });
});

describe('parser: element API', () => {
  test('parses an entry from an element tree', () => {
    const tree = readXml(`<item xmlns="http://jabber.org/protocol/pubsub">${ENTRY}</item>`);
    const element = tree.children[0];
    assert.ok(element);
    assert.deepStrictEqual(parseEntryElement(element), sampleEntry);
  });
});
