import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { formatCsn, parseEntry, parseFeed, serializeEntry, serializeFeed, type ObjectEntry } from '../../../src/format/index.js';
import { batch, entry, objectEntry, tombstone } from './arbitraries.js';

describe('serialize then parse', () => {
  test('object entries come back equal, for every value type and hostile strings', () => {
    fc.assert(
      fc.property(objectEntry, (e) => {
        assert.deepStrictEqual(parseEntry(serializeEntry(e)), e);
      }),
      { numRuns: 300 },
    );
  });

  test('an entry carrying the CSN of its object\'s newest delete comes back equal', () => {
    fc.assert(
      fc.property(objectEntry, (e) => {
        // The smallest CSN there is, so older than any other revision's.
        const first = formatCsn({ time: 0n, counter: 0, replica: 0, mod: 0 });
        fc.pre(e.csn > first);
        const revived: ObjectEntry = { ...e, tombstone: first };
        assert.deepStrictEqual(parseEntry(serializeEntry(revived)), revived);
      }),
      { numRuns: 50 },
    );
  });

  test('tombstones come back equal', () => {
    fc.assert(
      fc.property(tombstone, (t) => {
        assert.deepStrictEqual(parseEntry(serializeEntry(t)), t);
      }),
    );
  });

  test('feeds come back equal', () => {
    fc.assert(
      fc.property(batch, (b) => {
        assert.deepStrictEqual(parseFeed(serializeFeed(b)), b);
      }),
      { numRuns: 60 },
    );
  });

  test('output is deterministic', () => {
    fc.assert(
      fc.property(entry, (e) => {
        const xml = serializeEntry(e);
        assert.equal(serializeEntry(e), xml);
      }),
      { numRuns: 50 },
    );
  });

  test('large and binary values survive', () => {
    const data = new Uint8Array(256 * 1024).map((_, i) => (i * 7919) % 256);
    const big: ObjectEntry = {
      id: 'urn:uuid:7d444840-9dc0-11d1-b245-5ffdce74fad2',
      deleted: false,
      origin: { jid: 'sync@example.org', replica: 4095 },
      type: 'document',
      tags: [],
      keys: [],
      csn: '20240101000000.000000Z#ffffff#fff#ffffff',
      fields: [
        { name: 'text', type: 'string', csn: '20240101000000.000000Z#000000#000#000000', values: ['x'.repeat(300_000), 'é\u0001'.repeat(50_000)] },
        { name: 'blob', type: 'binary', csn: '20240101000000.000000Z#000000#000#000000', values: [data] },
        { name: 'huge', type: 'integer', csn: '20240101000000.000000Z#000000#000#000000', values: [-(10n ** 4000n) + 1n] },
        { name: 'none', type: 'json', csn: '20240101000000.000000Z#000000#000#000000', values: [] },
      ],
      changed: [],
      children: [],
      attachments: [
        {
          name: 'payload.bin',
          contentType: 'application/octet-stream',
          length: data.byteLength,
          sha256: createHash('sha256').update(data).digest('hex'),
          csn: '20240101000000.000000Z#000000#000#000000',
          data,
        },
      ],
    };
    assert.deepStrictEqual(parseEntry(serializeEntry(big)), big);
  });
});
