import { csnTimestamp, parseEntry, serializeFeed } from '../format/index.js';
import type { Origin } from '../format/model.js';
import type { OutboundRecord } from '../state/state-store.js';

/** Room left in a stanza for the IQ and item around a feed (attributes, ids, node names). */
export const ENVELOPE_BYTES = 2048;
/** atom:feed header around the entries (id, title, author, batch range), generously counted. */
const FEED_HEAD_BYTES = 1024;

export interface PackLimits {
  readonly maxEntries: number;
  /** Bytes of one feed of several entries (an item payload). */
  readonly maxBytes: number;
  /**
   * Bytes of a feed holding one entry: the stanza limit minus the envelope. An entry over maxBytes
   * but within this travels alone; maxBytes when absent.
   */
  readonly maxItemBytes?: number;
}

export interface PackedFeed {
  readonly firstSeq: bigint;
  readonly lastSeq: bigint;
  readonly count: number;
  readonly xml: string;
}

export type PackStep = { kind: 'feed'; feed: PackedFeed } | { kind: 'too-large'; record: OutboundRecord; bytes: number };

/**
 * Groups log records of one node into Atom feeds of at most maxEntries entries and maxBytes bytes.
 * Feeds of a node cover contiguous origin sequence ranges: each starts right after the previous
 * one ended (`after`), so a subscriber sees a gap as a jump. A record over maxBytes travels alone;
 * one that cannot fit a stanza even alone is reported and left out (the next feed's range covers it).
 */
export function* packFeeds(origin: Origin, after: bigint, records: readonly OutboundRecord[], limits: PackLimits): Generator<PackStep> {
  let start = after;
  let group: OutboundRecord[] = [];
  let bytes = FEED_HEAD_BYTES;
  function* flush(): Generator<PackStep> {
    if (group.length === 0) return;
    for (const step of serializeSplit(origin, start, group, limits.maxBytes)) {
      yield step;
      if (step.kind === 'feed') start = step.feed.lastSeq;
    }
    group = [];
    bytes = FEED_HEAD_BYTES;
  }
  const maxItemBytes = Math.max(limits.maxBytes, limits.maxItemBytes ?? limits.maxBytes);
  for (const record of records) {
    const size = Buffer.byteLength(record.payload, 'utf8');
    if (size + FEED_HEAD_BYTES > limits.maxBytes) {
      yield* flush();
      const alone = size + FEED_HEAD_BYTES > maxItemBytes ? [] : serializeSplit(origin, start, [record], maxItemBytes);
      const feed = alone.find((step) => step.kind === 'feed');
      if (feed && feed.kind === 'feed') {
        start = feed.feed.lastSeq;
        yield feed;
      } else {
        yield { kind: 'too-large', record, bytes: size };
      }
      continue;
    }
    if (group.length >= limits.maxEntries || bytes + size > limits.maxBytes) yield* flush();
    group.push(record);
    bytes += size;
  }
  yield* flush();
}

/** Serializes a group; if the estimate was wrong and the feed is too big, halves it. */
function serializeSplit(origin: Origin, after: bigint, group: readonly OutboundRecord[], maxBytes: number): PackStep[] {
  const last = group.at(-1) as OutboundRecord;
  const xml = feedXml(origin, after + 1n, last.seq, group);
  const bytes = Buffer.byteLength(xml, 'utf8');
  if (bytes <= maxBytes) return [{ kind: 'feed', feed: { firstSeq: after + 1n, lastSeq: last.seq, count: group.length, xml } }];
  if (group.length === 1) return [{ kind: 'too-large', record: last, bytes }];
  const half = Math.ceil(group.length / 2);
  const head = serializeSplit(origin, after, group.slice(0, half), maxBytes);
  let headEnd = after;
  for (const step of head) if (step.kind === 'feed') headEnd = step.feed.lastSeq;
  return [...head, ...serializeSplit(origin, headEnd, group.slice(half), maxBytes)];
}

const EMPTY_UPDATED = '<updated>1970-01-01T00:00:00.000000Z</updated>';

/**
 * A feed of logged entries. The log holds each entry already serialized by us, so the entries are
 * spliced into the feed's head as they are (a nested entry may repeat the namespace declarations)
 * instead of being parsed and written again, which was most of the publisher's CPU time.
 */
export function feedXml(origin: Origin, firstSeq: bigint, lastSeq: bigint, records: readonly OutboundRecord[]): string {
  const head = serializeFeed({ origin, firstSeq, lastSeq, entries: [] });
  let latest = '';
  for (const record of records) if (record.csn > latest) latest = record.csn;
  const at = head.indexOf(EMPTY_UPDATED);
  if (!head.endsWith('</feed>') || at === -1 || latest === '') {
    return serializeFeed({ origin, firstSeq, lastSeq, entries: records.map((r) => parseEntry(r.payload)) });
  }
  const dated = `${head.slice(0, at)}<updated>${csnTimestamp(latest)}</updated>${head.slice(at + EMPTY_UPDATED.length, -'</feed>'.length)}`;
  return `${dated}${records.map((r) => r.payload).join('')}</feed>`;
}
