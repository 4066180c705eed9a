/**
 * Scenario f: the per-entry CPU cost of each step an entry goes through, in this process, on
 * ~1 KB entries: serialize (Atom), parse, CSN merge, and the shipped XSLT (in its worker; the
 * fixture person of ~3.5 KB), each per entry and per batch of 100. CPU time (process.cpuUsage,
 * all threads), not wall time: on a shared machine wall time measures the neighbours. The baseline of each batch figure is the same step one entry
 * at a time, measured in the same run.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEntry, parseFeed, serializeEntry, serializeFeed, type Batch, type Entry, type ObjectEntry } from '../src/format/index.js';
import { merge } from '../src/pipeline/merge.js';
import { nextCsn, objectEntry, TEST_ORIGIN } from '../src/testing/entries.js';
import { SefCompiler, XsltWorkerPool } from '../src/transform/index.js';
import type { BenchFigure, Benchmark } from './bench-api.js';
import { cpuMicros, size } from './support/sizes.js';
import { people, perEntryMs, saxonIdentity } from './xslt.bench.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const ENTRIES = size(5_000, 20_000);
const BATCH = 100;

/** ~1 KB notes shaped like the CouchDB bench documents (title, count, body). */
function notes(count: number): ObjectEntry[] {
  return Array.from({ length: count }, (_, i) => {
    const csn = nextCsn();
    return objectEntry({
      csn,
      type: 'note',
      keys: [{ scheme: 'couchdb-id', value: `doc-${i}` }],
      fields: [
        { name: 'title', type: 'string', csn, values: [`note ${i}`] },
        { name: 'count', type: 'integer', csn, values: [BigInt(i)] },
        { name: 'body', type: 'string', csn, values: ['x'.repeat(800)] },
      ],
    });
  });
}

/** CPU microseconds per entry of `step` over all entries, best of 3 rounds (after one warm-up round). */
function usPerEntry<T>(items: readonly T[], step: (item: T) => unknown, entriesPerItem = 1): number {
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 4; round++) {
    const cpu = process.cpuUsage();
    for (const item of items) step(item);
    const us = cpuMicros(cpu) / (items.length * entriesPerItem);
    if (round > 0) best = Math.min(best, us);
  }
  return best;
}

function batches(entries: readonly Entry[]): Batch[] {
  const out: Batch[] = [];
  for (let i = 0; i < entries.length; i += BATCH) {
    out.push({ origin: TEST_ORIGIN, firstSeq: BigInt(i + 1), lastSeq: BigInt(i + BATCH), entries: entries.slice(i, i + BATCH) });
  }
  return out;
}

export const benchmark: Benchmark = {
  name: 'costs',
  async run(): Promise<readonly BenchFigure[]> {
    const entries = notes(ENTRIES);
    const xml = entries.map(serializeEntry);
    const feeds = batches(entries);
    const feedXml = feeds.map(serializeFeed);
    const bytes = xml.reduce((n, s) => n + s.length, 0) / xml.length;
    const figures: BenchFigure[] = [];
    const pair = (step: string, single: number, batched: number): void => {
      const base = { scenario: `${step}, one entry per call`, value: single };
      figures.push({ ...base, unit: 'µs/entry' });
      figures.push({ scenario: `${step}, feeds of ${BATCH}`, value: batched, unit: 'µs/entry', baseline: { ...base, ratio: batched / single } });
    };
    pair(`serialize (${bytes.toFixed(0)}-byte entries)`, usPerEntry(entries, serializeEntry), usPerEntry(feeds, serializeFeed, BATCH));
    pair('parse', usPerEntry(xml, (s) => parseEntry(s)), usPerEntry(feedXml, (s) => parseFeed(s), BATCH));

    // Merge: a new object (nothing applied before), and a newer revision of an applied one.
    const fresh = usPerEntry(entries, (entry) => merge(undefined, entry));
    const applied = entries.map((entry) => {
      const decision = merge(undefined, entry);
      if (decision.action !== 'apply') throw new Error('a new object must apply');
      return { entry: { ...entry, csn: nextCsn(), fields: entry.fields.map((f) => ({ ...f, csn: nextCsn() })) }, before: decision.next };
    });
    const update = usPerEntry(applied, ({ entry, before }) => merge(before, entry));
    figures.push({ scenario: 'CSN merge, new object', value: fresh, unit: 'µs/entry' });
    figures.push({ scenario: 'CSN merge, newer revision of an applied object (3 fields)', value: update, unit: 'µs/entry' });

    // The shipped XSLT, in the worker the daemon uses, per entry and per batch.
    const fixture = await readFile(join(root, 'test/fixtures/transforms/ldap-person-to-contact/input.xml'), 'utf8');
    const person = parseFeed(fixture).entries[0] as Entry;
    const cacheDir = await mkdtemp(join(tmpdir(), 'pubsync-bench-costs-'));
    const pool = new XsltWorkerPool({ timeoutMs: 60_000 });
    try {
      const compiler = new SefCompiler({ cacheDir });
      const xsltEntries = people(size(1_000, 5_000), person);
      // identity.xsl is handed on without the worker (src/transform/identity-stylesheet.ts); the
      // same copy with a template matching nothing still goes through SaxonJS.
      const sheets: [string, string][] = [
        ['identity.xsl', 'XSLT identity.xsl (handed on as it is, no worker)'],
        [await saxonIdentity(cacheDir), 'XSLT identity copy through SaxonJS (worker round trip included)'],
        ['ldap-person-to-contact.xsl', 'XSLT ldap-person-to-contact.xsl (worker round trip included)'],
      ];
      for (const [sheet, label] of sheets) {
        const single = (await perEntryMs(sheet, xsltEntries.slice(0, 300), 1, compiler, pool, 'cpu')) * 1000;
        const batched = (await perEntryMs(sheet, xsltEntries, BATCH, compiler, pool, 'cpu')) * 1000;
        pair(label, single, batched);
      }
    } finally {
      await pool.close();
      await rm(cacheDir, { recursive: true, force: true });
    }
    return figures;
  },
};
