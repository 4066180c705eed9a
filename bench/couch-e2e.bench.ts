/**
 * Scenario b: CouchDB A -> pubsync daemon -> Prosody -> pubsync daemon -> CouchDB B, identity
 * transform, two real `pubsync run` processes; documents per second from the first write on A to
 * the last document readable on B. Against CouchDB-protocol native replication (one-shot POST
 * /_replicate) of the same documents between the same two servers in the same run.
 * PUBSYNC_BENCH_FULL=1: 100,000 documents (default 10,000). PUBSYNC_BENCH_PROTOTYPES=1: also
 * with the prototype fixes of bench/prototypes swapped in.
 */
import type { BenchFigure, Benchmark } from './bench-api.js';
import { publishRate } from './transport.bench.js';
import { post, seed } from './support/couch-http.js';
import { CouchPipeline } from './support/couch-pipeline.js';
import { COMPARE_PROTOTYPES, PROTOTYPE_NAMES, PROTOTYPES } from './support/prototypes.js';
import { cpuSecondsOf, perSecond, size } from './support/sizes.js';

const DOCS = Number(process.env['PUBSYNC_BENCH_DOCS'] ?? size(10_000, 100_000));
const TRANSPORT_ITEMS = size(1_000, 5_000);

interface Run {
  rate: number;
  written: number;
  /** CPU seconds of publisher, subscriber and Prosody during the run. */
  cpu: [number, number, number];
  rss: [number, number];
}

async function throughput(pipeline: CouchPipeline): Promise<Run> {
  const { a, origin, publisher } = pipeline;
  const subscriber = pipeline.subscribers[0]!;
  const cpu0 = [publisher.cpuSeconds(), subscriber.cpuSeconds(), cpuSecondsOf(pipeline.prosody.pid)];
  const started = performance.now();
  await seed(a.url, origin, DOCS);
  const written = performance.now();
  const done = await pipeline.allReplicasHold(DOCS);
  const run: Run = {
    rate: perSecond(DOCS, started, done),
    written: (written - started) / 1000,
    cpu: [publisher.cpuSeconds() - cpu0[0]!, subscriber.cpuSeconds() - cpu0[1]!, cpuSecondsOf(pipeline.prosody.pid) - cpu0[2]!],
    rss: [publisher.peakRssMb(), subscriber.peakRssMb()],
  };
  await pipeline.stopDaemons();
  return run;
}

export const benchmark: Benchmark = {
  name: 'couch-e2e',
  async run(): Promise<readonly BenchFigure[]> {
    const figures: BenchFigure[] = [];
    const pipeline = await CouchPipeline.start();
    let baseline: { scenario: string; value: number };
    let ours: Run;
    let transport: { rate: number; prosodyUs: number };
    try {
      ours = await throughput(pipeline);
      // Native replication of the same documents, same servers, same run (B pulls from A).
      const target = await pipeline.b.createDatabase('native');
      const t0 = performance.now();
      await post(`${pipeline.b.url}/_replicate`, { source: `${pipeline.a.url}/${pipeline.origin}`, target });
      baseline = { scenario: `native POST /_replicate, one-shot, ${DOCS} docs`, value: perSecond(DOCS, t0) };
      // Scenario a on the same Prosody in the same run: the pipeline's target is 5x this rate.
      transport = await publishRate(pipeline.prosody, 'e2e', TRANSPORT_ITEMS, 1);
    } finally {
      await pipeline.stop();
    }
    const oneEntryPerItem = { scenario: `scenario a in this run: bare client, one entry per item, sequential, ${TRANSPORT_ITEMS} items`, value: transport.rate };
    const figure = (label: string, run: Run): BenchFigure[] => [
      {
        scenario: `couchdb A -> pubsync -> prosody -> pubsync (identity.xsl) -> couchdb B, ${DOCS} x 1 KB docs${label}`,
        value: run.rate,
        unit: 'docs/s',
        baseline: { ...baseline, ratio: run.rate / baseline.value },
        notes: `writing A took ${run.written.toFixed(1)} s; peak RSS MB publisher ${run.rss[0].toFixed(0)}, subscriber ${run.rss[1].toFixed(0)}`,
      },
      {
        scenario: `pipeline entries/s against scenario a's one-entry-per-item rate${label}`,
        value: run.rate,
        unit: 'entries/s',
        baseline: { ...oneEntryPerItem, ratio: run.rate / transport.rate },
      },
      { scenario: `e2e CPU per document, publisher daemon${label}`, value: (run.cpu[0] * 1e6) / DOCS, unit: 'µs/doc' },
      { scenario: `e2e CPU per document, subscriber daemon${label}`, value: (run.cpu[1] * 1e6) / DOCS, unit: 'µs/doc' },
      { scenario: `e2e CPU per document, Prosody${label}`, value: (run.cpu[2] * 1e6) / DOCS, unit: 'µs/doc' },
    ];
    figures.push({ ...baseline, unit: 'docs/s' }, { ...oneEntryPerItem, unit: 'items/s', notes: `Prosody CPU ${transport.prosodyUs.toFixed(0)} µs/item` }, ...figure('', ours));
    // PUBSYNC_BENCH_UNPERSISTED=1: the same run again with a node that does not persist items
    // (pubsync never reads items back from the node: catch-up asks the origin).
    if (process.env['PUBSYNC_BENCH_UNPERSISTED'] === '1') {
      const unpersisted = await CouchPipeline.start({ node: { persistItems: false } });
      try {
        figures.push(...figure(', node with persistItems: false', await throughput(unpersisted)));
      } finally {
        await unpersisted.stop();
      }
    }
    // PUBSYNC_BENCH_VARIANT='{"publish":{"maxBytes":16384},"node":{"persistItems":false}}': the
    // same run again with other publish batching and/or node options.
    const variant = process.env['PUBSYNC_BENCH_VARIANT'];
    if (variant) {
      const { publish, node } = JSON.parse(variant) as { publish?: Record<string, unknown>; node?: Record<string, unknown> };
      const varied = await CouchPipeline.start({ ...(publish ? { publish } : {}), ...(node ? { node } : {}) });
      try {
        figures.push(...figure(`, variant ${variant}`, await throughput(varied)));
      } finally {
        await varied.stop();
      }
    }
    if (COMPARE_PROTOTYPES) {
      const patched = await CouchPipeline.start({ swap: PROTOTYPES });
      try {
        figures.push(...figure(`, with prototypes ${PROTOTYPE_NAMES}`, await throughput(patched)));
      } finally {
        await patched.stop();
      }
    }
    return figures;
  },
};
