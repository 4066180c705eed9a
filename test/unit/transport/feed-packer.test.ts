import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseFeed, serializeEntry, serializeFeed } from '../../../src/format/index.js';
import type { OutboundRecord } from '../../../src/state/state-store.js';
import { feedXml, packFeeds, type PackStep } from '../../../src/transport/feed-packer.js';
import { csn, objectEntry, stringField } from '../../support/entries.js';

const origin = { jid: 'a@localhost', replica: 1 };

function record(seq: number, text = 'x'): OutboundRecord {
  const at = csn(seq);
  const id = `urn:uuid:00000000-0000-4000-8000-${String(seq).padStart(12, '0')}`;
  const entry = objectEntry({ id, csn: at, fields: [stringField('text', text, at)], changed: ['text'] });
  return { seq: BigInt(seq), entryId: id, csn: at, nodes: ['n'], payload: serializeEntry(entry), createdAt: 0 };
}

function feeds(steps: PackStep[]) {
  return steps.flatMap((s) => (s.kind === 'feed' ? [s.feed] : []));
}

describe('packFeeds', () => {
  it('cuts at maxEntries and gives contiguous ranges starting after the last feed', () => {
    const records = [2, 3, 5, 8, 9].map((n) => record(n));
    const out = feeds([...packFeeds(origin, 1n, records, { maxEntries: 2, maxBytes: 100_000 })]);
    assert.deepEqual(
      out.map((f) => [f.firstSeq, f.lastSeq, f.count]),
      [
        [2n, 3n, 2],
        [4n, 8n, 2],
        [9n, 9n, 1],
      ],
    );
    const batch = parseFeed(out[1]?.xml ?? '');
    assert.equal(batch.firstSeq, 4n);
    assert.equal(batch.entries.length, 2);
  });

  it('keeps every feed under maxBytes', () => {
    const records = Array.from({ length: 40 }, (_, i) => record(i + 1, 'y'.repeat(900)));
    const out = feeds([...packFeeds(origin, 0n, records, { maxEntries: 1000, maxBytes: 8000 })]);
    assert.ok(out.length > 1);
    for (const f of out) assert.ok(Buffer.byteLength(f.xml) <= 8000, `${Buffer.byteLength(f.xml)} bytes`);
    assert.equal(out.reduce((n, f) => n + f.count, 0), 40);
    assert.equal(out.at(-1)?.lastSeq, 40n);
  });

  it('reports an entry too large alone and covers its sequence with the next feed', () => {
    const records = [record(1), record(2, 'z'.repeat(10_000)), record(3)];
    const steps = [...packFeeds(origin, 0n, records, { maxEntries: 10, maxBytes: 4000 })];
    assert.deepEqual(
      steps.map((s) => (s.kind === 'feed' ? `feed ${s.feed.firstSeq}-${s.feed.lastSeq}` : `too-large ${s.record.seq}`)),
      ['feed 1-1', 'too-large 2', 'feed 2-3'],
    );
  });
});

describe('feedXml', () => {
  it('splices logged entries into a feed that parses like one written whole', () => {
    const records = [record(4), record(7, 'two'), record(9)];
    const spliced = parseFeed(feedXml(origin, 3n, 9n, records));
    const whole = parseFeed(serializeFeed({ origin, firstSeq: 3n, lastSeq: 9n, entries: spliced.entries }));
    assert.deepEqual(spliced, whole);
    assert.deepEqual(spliced.entries.map((e) => e.csn), records.map((r) => r.csn));
  });
});

describe('packFeeds with a stanza larger than a feed', () => {

  it('sends an entry over maxBytes alone when a stanza can hold it (a 64 KB object with default limits)', () => {
    const records = [record(1), record(2, 'z'.repeat(10_000)), record(3)];
    const steps = [...packFeeds(origin, 0n, records, { maxEntries: 10, maxBytes: 4000, maxItemBytes: 20_000 })];
    assert.deepEqual(
      steps.map((s) => (s.kind === 'feed' ? `feed ${s.feed.firstSeq}-${s.feed.lastSeq}` : `too-large ${s.record.seq}`)),
      ['feed 1-1', 'feed 2-2', 'feed 3-3'],
    );
    const alone = feeds(steps)[1];
    assert.ok(alone && Buffer.byteLength(alone.xml) <= 20_000);
    assert.equal(parseFeed(alone.xml).entries.length, 1);
  });
});
