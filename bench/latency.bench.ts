/**
 * Scenario d: latency from a change in the source to the change readable in the sink, at 100, 500
 * and 1,000 changes per second offered. CouchDB A -> `pubsync run` -> Prosody -> `pubsync run`
 * (identity.xsl) -> CouchDB B. Changes are offered in ticks of 10 ms (one _bulk_docs per tick,
 * rate/100 new ~1 KB documents each, not waiting for the previous tick); a document's latency is
 * from just before its tick is sent to A until B's continuous _changes feed names it.
 * Default 8 s per rate, PUBSYNC_BENCH_FULL=1: 30 s. PUBSYNC_BENCH_RATES=100,500 to choose rates.
 */
import { request } from 'node:http';
import type { BenchFigure, Benchmark } from './bench-api.js';
import { noteDoc, post } from './support/couch-http.js';
import { CouchPipeline } from './support/couch-pipeline.js';
import { COMPARE_PROTOTYPES, PROTOTYPE_NAMES, PROTOTYPES } from './support/prototypes.js';
import { percentile, size, sizes } from './support/sizes.js';

const SECONDS = size(8, 30);
const RATES = sizes('PUBSYNC_BENCH_RATES', [100, 500, 1000], [100, 500, 1000]);
const TICK_MS = 10;

/** Follows B's continuous _changes feed and notes when each document id first shows up. */
function follow(url: string, arrived: Map<string, number>): { close(): void } {
  const req = request(`${url}?feed=continuous&since=now&heartbeat=5000`, { headers: { 'accept-encoding': 'identity' } }, (res) => {
    let buffer = '';
    res.setEncoding('utf8').on('data', (chunk: string) => {
      const now = performance.now();
      buffer += chunk;
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.startsWith('{')) continue;
        const { id } = JSON.parse(line) as { id?: string };
        if (id !== undefined && !arrived.has(id)) arrived.set(id, now);
      }
    });
  });
  req.on('error', () => {});
  req.end();
  return { close: () => req.destroy() };
}

async function offer(pipeline: CouchPipeline, rate: number, arrived: Map<string, number>, seconds = SECONDS): Promise<number[]> {
  const { a, origin } = pipeline;
  const perTick = Math.max(1, Math.round((rate * TICK_MS) / 1000));
  const ticks = Math.round((seconds * 1000) / TICK_MS);
  const sent = new Map<string, number>();
  const writes: Promise<unknown>[] = [];
  const start = performance.now();
  for (let tick = 0; tick < ticks; tick++) {
    const due = start + tick * TICK_MS;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const docs = Array.from({ length: perTick }, (_, i) => noteDoc(`r${rate}-${seconds}-${tick}-${i}`, tick));
    const t0 = performance.now();
    for (const doc of docs) sent.set(String(doc['_id']), t0);
    writes.push(post(`${a.url}/${origin}/_bulk_docs`, { docs }));
  }
  await Promise.all(writes);
  const deadline = Date.now() + 1_800_000;
  while ([...sent.keys()].some((id) => !arrived.has(id))) {
    pipeline.assertRunning();
    if (Date.now() > deadline) throw new Error(`rate ${rate}: not all changes arrived`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return [...sent].map(([id, t0]) => arrived.get(id)! - t0).sort((x, y) => x - y);
}

async function measure(swap: string | undefined, label: string, node?: Record<string, unknown>): Promise<BenchFigure[]> {
  const pipeline = await CouchPipeline.start({ ...(swap ? { swap } : {}), ...(node ? { node } : {}) });
  const arrived = new Map<string, number>();
  const feed = follow(`${pipeline.b.url}/${pipeline.replicas[0]}/_changes`, arrived);
  const figures: BenchFigure[] = [];
  try {
    // Warm-up (JIT, worker start, first subscription round trips): not measured.
    await offer(pipeline, 100, arrived, 2);
    for (const rate of RATES) {
      const latencies = await offer(pipeline, rate, arrived);
      const [p50, p95, p99] = [50, 95, 99].map((p) => percentile(latencies, p));
      for (const [name, value] of [['p50', p50], ['p95', p95], ['p99', p99]] as const) {
        figures.push({ scenario: `${rate} changes/s offered for ${SECONDS} s, ${name}${label}`, value: value!, unit: 'ms' });
      }
      figures.push({ scenario: `${rate} changes/s offered, max${label}`, value: latencies.at(-1)!, unit: 'ms', notes: `${latencies.length} changes` });
    }
  } finally {
    feed.close();
    await pipeline.stop();
  }
  return figures;
}

export const benchmark: Benchmark = {
  name: 'latency',
  async run(): Promise<readonly BenchFigure[]> {
    const figures = await measure(undefined, '');
    // PUBSYNC_BENCH_UNPERSISTED=1: again with a node that does not persist items (see couch-e2e).
    if (process.env['PUBSYNC_BENCH_UNPERSISTED'] === '1') figures.push(...(await measure(undefined, ', node with persistItems: false', { persistItems: false })));
    if (COMPARE_PROTOTYPES) figures.push(...(await measure(PROTOTYPES, `, with prototypes ${PROTOTYPE_NAMES}`)));
    return figures;
  },
};
