import { randomUUID } from 'node:crypto';
import { SaxesParser } from 'saxes';
import { serializeFeed, type CsnClock } from '../../src/format/index.js';
import { objectEntry } from '../support/entries.js';
import type { SeededRandom } from '../support/seeded-random.js';

/**
 * A seeded generator of bad inbound items: each case starts as a valid one-entry feed (object key
 * `case-N`) and is broken one way. The result is always well-formed XML, because that is all an
 * XMPP server carries; what the transport cannot carry (DTDs, invalid UTF-8, broken markup) is
 * refused by the server itself and tested separately (fuzz-inbound.ts).
 */
export const FUZZ_KINDS = [
  'namespace',
  'missing-id',
  'invalid-csn',
  'future-csn',
  'huge-value',
  'deep-nesting',
  'other-origin',
  'structure',
  'attribute',
  'text',
  'not-a-feed',
] as const;
export type FuzzKind = (typeof FUZZ_KINDS)[number];

export interface FuzzCase {
  readonly kind: FuzzKind;
  readonly key: string;
  readonly xml: string;
}

export interface FeedSpec {
  readonly origin: { readonly jid: string; readonly replica: number };
  readonly key: string;
  readonly seq: bigint;
  readonly clock: CsnClock;
  readonly text?: string;
}

/** A valid feed with one object entry (key test-id = spec.key) at origin sequence spec.seq. */
export function goodFeed(spec: FeedSpec): string {
  const csn = spec.clock.next();
  const entry = objectEntry({
    id: `urn:uuid:${randomUUID()}`,
    csn,
    origin: spec.origin,
    keys: [{ scheme: 'test-id', value: spec.key }],
    fields: [{ name: 'text', type: 'string', csn, values: [spec.text ?? `text of ${spec.key}`] }],
  });
  return serializeFeed({ origin: spec.origin, firstSeq: spec.seq, lastSeq: spec.seq, entries: [entry] });
}

const NASTY_TEXT = ['', ' ', '&amp;', '&lt;x&gt;', '&#x1F600;', '&#xFFFD;', '\u202e', 'a'.repeat(300), '"\'', 'ñ', '𝔘', '\t\n'];
const CSN_GARBAGE = ['', 'x', '2026', '99999999999999.000000Z#000000#001#000000', '20261301000000.000000Z#000000#001#000000', '20260101000000.000000Z#zzzzzz#001#000000', '20260101000000Z#000000#001#000000', '-1', '20260101000000.000000Z#000000#1000#000000'];
const OTHER_NS = ['', 'http://www.w3.org/2005/Atom2', 'urn:xmpp:pubsync:entry:0', 'urn:evil', 'http://www.w3.org/1999/xhtml'];

function xmlAttr(value: string): string {
  return value.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('"', '&quot;');
}

/** Replaces the n-th match (n picked at random) of a global regex. */
function replaceOne(random: SeededRandom, text: string, pattern: RegExp, replacement: (match: string) => string): string {
  const matches = [...text.matchAll(pattern)];
  if (matches.length === 0) return text;
  const match = random.pick(matches);
  const at = match.index ?? 0;
  return text.slice(0, at) + replacement(match[0]) + text.slice(at + match[0].length);
}

export function fuzzCase(random: SeededRandom, n: number, spec: Omit<FeedSpec, 'key'>): FuzzCase {
  const key = `case-${n}`;
  const kind = FUZZ_KINDS[n % FUZZ_KINDS.length] as FuzzKind;
  const feed = goodFeed({ ...spec, key });
  const xml = mutate(random, kind, feed, key);
  assertWellFormed(xml, `${kind} case ${n}`);
  return { kind, key, xml };
}

function mutate(random: SeededRandom, kind: FuzzKind, feed: string, key: string): string {
  switch (kind) {
    case 'namespace': {
      const which = random.pick(['http://www.w3.org/2005/Atom', 'urn:xmpp:pubsync:entry:1', 'http://purl.org/atompub/tombstones/1.0']);
      const to = random.pick(OTHER_NS);
      // Either every declaration of it (the whole document moves) or one of them; a prefix cannot be undeclared.
      const declaration = new RegExp(`(xmlns(:\\w+)?=)"${which.replaceAll('.', '\\.')}"`, 'g');
      const swap = (m: string): string => m.replace(/"[^"]*"$/, m.startsWith('xmlns:') && to === '' ? '"urn:evil"' : `"${to}"`);
      return random.next() < 0.5 ? feed.replaceAll(declaration, swap) : replaceOne(random, feed, declaration, swap);
    }
    case 'missing-id':
      return random.next() < 0.5 ? feed.replace(/<entry><id>[^<]*<\/id>/, '<entry>') : feed.replace(/<entry><id>[^<]*<\/id>/, `<entry><id>${random.pick(['', 'x', 'urn:uuid:', 'urn:uuid:not-a-uuid', ' '])}</id>`);
    case 'invalid-csn':
      return replaceOne(random, feed, /csn="[^"]*"/g, () => `csn="${xmlAttr(random.pick(CSN_GARBAGE))}"`);
    case 'future-csn': {
      const year = random.int(2040, 9999);
      // Consistent throughout (CSNs and the updated times that must match them): only the year is far ahead.
      return feed.replaceAll(/(csn="|<updated>)\d{4}/g, `$1${year}`);
    }
    case 'huge-value': {
      const size = random.int(1, 4) === 1 ? random.int(100_000, 180_000) : random.int(1000, 20_000);
      const filler = random.pick(['x', '&amp;', 'é', '<v>y</v>']);
      // In bytes, under Prosody's 256 KiB stanza limit: a bigger stanza ends the publisher's stream.
      return feed.replace(/<v>[^<]*<\/v>/, `<v>${filler.repeat(Math.ceil(size / Buffer.byteLength(filler)))}</v>`);
    }
    case 'deep-nesting': {
      const depth = random.int(5, 100);
      const open = '<n>'.repeat(depth);
      const close = '</n>'.repeat(depth);
      return random.next() < 0.5 ? feed.replace(/<v>[^<]*<\/v>/, `<v>${open}${close}</v>`) : feed.replace('</object>', `${open}${close}</object>`);
    }
    case 'other-origin': {
      const jid = random.pick(['mallory@localhost', 'rel-a@localhost', 'fuzzer@evil.example', 'beta@localhost']);
      return random.next() < 0.5 ? feed.replaceAll('jid="fuzzer@localhost"', `jid="${jid}"`) : replaceOne(random, feed, /jid="fuzzer@localhost"/g, () => `jid="${jid}"`);
    }
    case 'structure': {
      const elements = ['id', 'title', 'updated', 'author', 'category', 'content', 'object', 'origin', 'key', 'field', 'name', 'v', 'ps:batch', 'ps:origin', 'entry'];
      const name = random.pick(elements);
      const pattern = new RegExp(`<${name}(\\s[^>]*)?(/>|>.*?</${name}>)`, 'g');
      const op = random.int(0, 2);
      if (op === 0) return replaceOne(random, feed, pattern, () => '');
      if (op === 1) return replaceOne(random, feed, pattern, (m) => m + m);
      return replaceOne(random, feed, pattern, (m) => `<unexpected xmlns="urn:x">${m}</unexpected>`);
    }
    case 'attribute': {
      const op = random.int(0, 2);
      if (op === 0) return replaceOne(random, feed, / (?!xmlns)[\w:-]+="[^"]*"/g, () => '');
      if (op === 1) return replaceOne(random, feed, / (?!xmlns)[\w:-]+="[^"]*"/g, (m) => m.replace(/"[^"]*"$/, `"${xmlAttr(random.pick([...NASTY_TEXT, '-1', '99999999999999999999', 'true']))}"`));
      return replaceOne(random, feed, /<(field|object|v|key) /g, (m) => `${m}bogus="1" `);
    }
    case 'text':
      // Bytes that are not UTF-8 can only travel as base64 of WTF-8; invalid ones must be refused.
      if (random.next() < 0.3) return feed.replace(/<v>[^<]*<\/v>/, `<v enc="base64">${random.pick(['/w==', 'wA==', '7aCA', '####', 'QQ', '4oKs'])}</v>`);
      return replaceOne(random, feed, />[^<]+</g, () => `>${random.pick(NASTY_TEXT)}<`);
    case 'not-a-feed':
      return random.pick([
        '<feed xmlns="http://www.w3.org/2005/Atom"/>',
        `<entry xmlns="http://www.w3.org/2005/Atom"><id>${key}</id></entry>`,
        '<x xmlns="urn:x"/>',
        '<feed xmlns="http://www.w3.org/2005/Atom"><entry/></feed>',
        feed.replace(/<entry>.*<\/entry>/, ''),
        feed.replace(/<entry>.*<\/entry>/, '<at:deleted-entry ref="urn:uuid:x" when="2026-01-01T00:00:00Z"/>'),
      ]);
  }
}

/** The generator must only make what XMPP can carry: namespace-well-formed XML. */
function assertWellFormed(xml: string, what: string): void {
  const parser = new SaxesParser({ xmlns: true });
  let failure: Error | undefined;
  parser.on('error', (error) => {
    failure ??= error;
  });
  parser.write(xml).close();
  if (failure) throw new Error(`fuzz generator bug: ${what} is not well-formed XML (${failure.message})`);
}
