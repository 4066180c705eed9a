import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Entry } from '../src/format/model.js';
import { createTestContext, instantiate, nextCsn, objectEntry } from '../src/testing/index.js';
import type { SourceChange } from '../src/plugin-api/index.js';
import { couchdbSink, couchdbSource } from '../plugins/couchdb/index.js';
import { startCouchDb, type CouchDb } from '../test/harness/couchdb.js';
import type { BenchFigure, Benchmark } from './bench-api.js';

const DOCS = 10_000;
const APPLY_BATCH = 1000;

/**
 * The CouchDB plugin's bulk throughput on 10,000 ~1 KB documents, against CouchDB's own
 * replicator moving the same documents between the same two servers in the same run.
 */
export const benchmark: Benchmark = {
  name: 'couchdb',
  async run() {
    const [a, b] = await Promise.all([startCouchDb(), startCouchDb()]);
    try {
      const origin = await a.createDatabase('bench-origin');
      await seed(a, origin);
      const replicated = await timeReplicate(a, origin, b);
      const sink = await timeSink(a, origin, b);
      const relay = await timeSourceToSink(a, origin, b);
      const baseline = { scenario: 'native POST /_replicate, one-shot, 10,000 docs', value: replicated };
      const figure = (scenario: string, value: number): BenchFigure => ({
        scenario,
        value,
        unit: 'docs/s',
        baseline: { ...baseline, ratio: value / replicated },
      });
      return [
        { scenario: baseline.scenario, value: replicated, unit: 'docs/s' },
        figure(`couchdb sink _bulk_docs (batches of ${APPLY_BATCH}, revs read with _all_docs), 10,000 new docs`, sink),
        figure('couchdb source (_changes + include_docs) -> entries -> couchdb sink, 10,000 docs', relay),
      ];
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  },
};

async function seed(server: CouchDb, database: string): Promise<void> {
  for (let start = 0; start < DOCS; start += 1000) {
    const docs = Array.from({ length: 1000 }, (_, i) => ({
      _id: `doc-${String(start + i).padStart(6, '0')}`,
      type: 'note',
      title: `note ${start + i}`,
      count: start + i,
      body: randomBytes(400).toString('hex'),
    }));
    await post(`${server.url}/${database}/_bulk_docs`, { docs });
  }
}

async function timeReplicate(a: CouchDb, origin: string, b: CouchDb): Promise<number> {
  const target = await b.createDatabase('bench-replicated');
  const started = performance.now();
  await post(`${b.url}/_replicate`, { source: `${a.url}/${origin}`, target });
  return DOCS / ((performance.now() - started) / 1000);
}

/** The sink alone: entries built up front from the origin's documents, then applied. */
async function timeSink(a: CouchDb, origin: string, b: CouchDb): Promise<number> {
  const target = await b.createDatabase('bench-sink');
  const rows = (await get(`${a.url}/${origin}/_all_docs?include_docs=true`)) as { rows: { doc: Record<string, unknown> }[] };
  const entries = rows.rows.map(({ doc }) => entryOf(doc));
  const sink = await instantiate(couchdbSink, { url: b.url, database: target }, createTestContext({ kind: 'sink' }));
  const signal = new AbortController().signal;
  const started = performance.now();
  for (let i = 0; i < entries.length; i += APPLY_BATCH) {
    const batch = entries.slice(i, i + APPLY_BATCH).map((entry) => ({ entry, fields: fieldNames(entry) }));
    const outcomes = await sink.apply(batch, signal);
    if (outcomes.some((outcome) => outcome.status !== 'applied')) throw new Error('a bench document was not applied');
  }
  return DOCS / ((performance.now() - started) / 1000);
}

/** Source and sink together, without the core's log in between: the plugin's copy rate. */
async function timeSourceToSink(a: CouchDb, origin: string, b: CouchDb): Promise<number> {
  const target = await b.createDatabase('bench-relay');
  const controller = new AbortController();
  const source = await instantiate(
    couchdbSource,
    { url: a.url, database: origin, batchSize: APPLY_BATCH, longpollTimeoutMs: 1000 },
    createTestContext({ kind: 'source', signal: controller.signal }),
  );
  const sink = await instantiate(couchdbSink, { url: b.url, database: target }, createTestContext({ kind: 'sink' }));
  let copied = 0;
  const started = performance.now();
  for await (const batch of source.start(undefined, controller.signal)) {
    const entries = batch.changes.map(entryOfChange);
    await sink.apply(
      entries.map((entry) => ({ entry, fields: fieldNames(entry) })),
      controller.signal,
    );
    copied += entries.length;
    if (copied >= DOCS) break;
  }
  const elapsed = performance.now() - started;
  controller.abort();
  return DOCS / (elapsed / 1000);
}

function entryOf(doc: Record<string, unknown>): Entry {
  const csn = nextCsn();
  return objectEntry({
    csn,
    type: String(doc['type']),
    keys: [{ scheme: 'couchdb-id', value: String(doc['_id']) }],
    fields: [
      { name: 'title', type: 'string', csn, values: [String(doc['title'])] },
      { name: 'count', type: 'integer', csn, values: [BigInt(Number(doc['count']))] },
      { name: 'body', type: 'string', csn, values: [String(doc['body'])] },
    ],
  });
}

function entryOfChange(change: SourceChange): Entry {
  if (change.op !== 'upsert') throw new Error('the bench origin has no deletes');
  const csn = nextCsn();
  return objectEntry({ csn, type: change.type, keys: change.keys, fields: change.fields.map((field) => ({ ...field, csn }) as never) });
}

function fieldNames(entry: Entry): string[] {
  return entry.deleted ? [] : entry.fields.map((field) => field.name);
}

async function post(url: string, body: unknown): Promise<unknown> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await response.text();
  if (!response.ok) throw new Error(`POST ${url}: ${response.status} ${text}`);
  return JSON.parse(text);
}

async function get(url: string): Promise<unknown> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: ${response.status}`);
  return response.json();
}
