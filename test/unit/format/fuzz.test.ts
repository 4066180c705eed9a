import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { isSyncError } from '../../../src/errors/index.js';
import { parseEntry, parseFeed, serializeEntry, serializeFeed } from '../../../src/format/index.js';
import { anyString, batch, entry } from './arbitraries.js';
import { sampleBatch, sampleEntry, sampleTombstone } from './fixtures.js';

const FORMAT_CODES = new Set(['PUBSYNC_ERR_FORMAT_MALFORMED', 'PUBSYNC_ERR_FORMAT_INVALID', 'PUBSYNC_ERR_FORMAT_LIMIT']);

/** Parsing either succeeds or fails with a format record error that is not an internal one. */
function parsesOrRecordError(parse: () => unknown): void {
  try {
    parse();
  } catch (error) {
    assert.ok(isSyncError(error), `threw a non-SyncError: ${String(error)}`);
    assert.equal(error.kind, 'record');
    assert.ok(FORMAT_CODES.has(error.code), error.code);
    assert.equal(error.details.internal, undefined, `internal error: ${error.message}`);
  }
}

function both(xml: string): void {
  parsesOrRecordError(() => parseEntry(xml));
  parsesOrRecordError(() => parseFeed(xml));
}

const samples = [serializeEntry(sampleEntry), serializeEntry(sampleTombstone), serializeFeed(sampleBatch)];

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), text: anyString }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 80 }) }),
  fc.record({ kind: fc.constant('markup' as const), at: fc.nat(), text: fc.constantFrom('<', '>', '&', '"', '</', '/>', '<!--', ']]>', '<![CDATA[', '&#0;', '&#x10FFFF;', 'xmlns=""', ' a="1"', '<?x?>', '<!DOCTYPE') }),
);

type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

function mutate(xml: string, m: Mutation): string {
  const at = m.at % (xml.length + 1);
  switch (m.kind) {
    case 'replace':
    case 'markup':
      return xml.slice(0, at) + m.text + xml.slice(at + 1);
    case 'delete':
      return xml.slice(0, at) + xml.slice(at + m.length);
    case 'duplicate':
      return xml.slice(0, at + m.length) + xml.slice(at, at + m.length) + xml.slice(at + m.length);
  }
}

describe('parser robustness', () => {
  test('random text never throws anything but a format record error', () => {
    // Code points straight from integers: fast-check's 'binary' unit takes a second to set up.
    const codePoint = fc.integer({ min: 0, max: 0x10ffff }).map((c) => String.fromCodePoint(c));
    fc.assert(fc.property(fc.string({ unit: codePoint, maxLength: 200 }), both), { numRuns: 200 });
    fc.assert(fc.property(anyString, both), { numRuns: 200 });
  });

  test('random bytes decoded as text never crash it', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        both(Buffer.from(bytes).toString('utf8'));
        both(Buffer.from(bytes).toString('latin1'));
      }),
      { numRuns: 200 },
    );
  });

  test('every truncation of valid documents is refused cleanly', () => {
    // Every cut of the tombstone; every few characters of the larger entry and feed.
    for (const [xml, stride] of [[serializeEntry(sampleTombstone), 1], [serializeEntry(sampleEntry), 3], [serializeFeed(sampleBatch), 5]] as const) {
      for (let end = 0; end < xml.length; end += stride) {
        const prefix = xml.slice(0, end);
        assert.throws(() => parseEntry(prefix), (e: unknown) => isSyncError(e) && e.kind === 'record');
        parsesOrRecordError(() => parseFeed(prefix));
      }
    }
  });

  test('mutated valid documents parse or fail cleanly', () => {
    fc.assert(
      fc.property(fc.constantFrom(...samples), fc.array(mutation, { minLength: 1, maxLength: 4 }), (xml, mutations) => {
        both(mutations.reduce(mutate, xml));
      }),
      { numRuns: 1000 },
    );
  });

  test('mutated random entries and feeds parse or fail cleanly', () => {
    fc.assert(
      fc.property(fc.oneof(entry.map(serializeEntry), batch.map(serializeFeed)), mutation, (xml, m) => both(mutate(xml, m))),
      { numRuns: 300 },
    );
  });

  test('hostile structures hit limits, not the stack', () => {
    both('<a>'.repeat(100_000));
    both(`<entry xmlns="http://www.w3.org/2005/Atom">${'<x>'.repeat(20)}${'</x>'.repeat(20)}</entry>`);
    const deepJson = serializeEntry({
      ...sampleEntry,
      fields: [{ name: 'j', type: 'string', csn: sampleEntry.csn, values: ['x'] }],
    }).replace('type="string" csn', 'type="json" csn').replace('<v>x</v>', `<v>${'['.repeat(100_000)}${']'.repeat(100_000)}</v>`);
    assert.throws(() => parseEntry(deepJson), (e: unknown) => isSyncError(e) && /JSON nested deeper/.test(e.message));
    both(serializeEntry(sampleEntry).replace('<v>1001</v>', `<v>${'9'.repeat(100_000)}</v>`));
  });
});
