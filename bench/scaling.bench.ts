/**
 * Scenario e: scaling of the CouchDB -> pubsync -> Prosody -> pubsync -> CouchDB path (real
 * `pubsync run` processes, no transform so that only the transport and the sinks scale):
 *  - 1, 4 and 16 subscriber daemons on one node (each with its own database on server B);
 *  - 1 KB and 64 KB documents;
 *  - backlogs waiting in CouchDB A when the publisher starts: time to drain and the daemons' peak
 *    RSS (VmHWM from /proc), which must stay flat while time grows linearly.
 * Defaults are small (see RESULTS.md); PUBSYNC_BENCH_FULL=1 runs 16 subscribers and backlogs of
 * 10,000, 100,000 and 1,000,000; PUBSYNC_BENCH_SUBSCRIBERS / _BACKLOGS choose sizes.
 */
import type { BenchFigure, Benchmark } from './bench-api.js';
import { seed } from './support/couch-http.js';
import { CouchPipeline } from './support/couch-pipeline.js';
import { perSecond, size, sizes } from './support/sizes.js';

const FANOUT_DOCS = size(1_000, 10_000);
const SUBSCRIBERS = sizes('PUBSYNC_BENCH_SUBSCRIBERS', [1, 4], [1, 4, 16]);
const BIG_DOCS = size(200, 2_000);
const BACKLOGS = sizes('PUBSYNC_BENCH_BACKLOGS', [2_000, 8_000], [10_000, 100_000, 1_000_000]);

async function fanout(subscribers: number): Promise<number> {
  const pipeline = await CouchPipeline.start({ subscribers, stylesheet: null });
  try {
    const started = performance.now();
    await seed(pipeline.a.url, pipeline.origin, FANOUT_DOCS);
    return perSecond(FANOUT_DOCS, started, await pipeline.allReplicasHold(FANOUT_DOCS));
  } finally {
    await pipeline.stop();
  }
}

async function bySize(bytes: number, docs: number): Promise<number> {
  // A 64 KB document is a ~66 KB entry: over the default 64 KiB item (it would be dead-lettered
  // as too large), so both sizes run with items of up to 200 KiB, under Prosody's 256 KiB stanzas.
  const pipeline = await CouchPipeline.start({ stylesheet: null, publish: { maxEntries: 100, maxBytes: 200 * 1024, delayMs: 20 } });
  try {
    const started = performance.now();
    await seed(pipeline.a.url, pipeline.origin, docs, { bytes, batch: bytes > 4096 ? 50 : 1000 });
    return perSecond(docs, started, await pipeline.allReplicasHold(docs));
  } finally {
    await pipeline.stop();
  }
}

async function backlog(count: number): Promise<{ seconds: number; rss: [number, number]; ready: [number, number] }> {
  const pipeline = await CouchPipeline.start({ stylesheet: null, beforeStart: (a, origin) => seed(a.url, origin, count) });
  try {
    const done = await pipeline.allReplicasHold(count, 6 * 3_600_000);
    const subscriber = pipeline.subscribers[0]!;
    return {
      seconds: (done - pipeline.publisherStartedAt) / 1000,
      rss: [pipeline.publisher.peakRssMb(), subscriber.peakRssMb()],
      ready: [pipeline.publisher.readyRssMb, subscriber.readyRssMb],
    };
  } finally {
    await pipeline.stop();
  }
}

export const benchmark: Benchmark = {
  name: 'scaling',
  async run(): Promise<readonly BenchFigure[]> {
    // Each figure also goes to stderr as soon as it is measured: a long run that fails late keeps them.
    const figures: BenchFigure[] = [];
    const push = (...measured: BenchFigure[]): void => {
      figures.push(...measured);
      for (const figure of measured) process.stderr.write(`scaling: ${JSON.stringify(figure)}\n`);
    };
    let one: { scenario: string; value: number } | undefined;
    // PUBSYNC_BENCH_SUBSCRIBERS=0 skips this part.
    for (const n of SUBSCRIBERS.filter((count) => count > 0)) {
      const rate = await fanout(n);
      const scenario = `${n} subscriber daemon(s), ${FANOUT_DOCS} x 1 KB docs, docs/s into every replica`;
      one ??= { scenario, value: rate };
      push({ scenario, value: rate, unit: 'docs/s', baseline: { ...one, ratio: rate / one.value }, notes: `${(rate * n).toFixed(0)} document writes/s in all` });
    }

    // PUBSYNC_BENCH_OBJECT_SIZES=0 skips this part.
    if (process.env['PUBSYNC_BENCH_OBJECT_SIZES'] !== '0') {
      const small = await bySize(1024, FANOUT_DOCS);
      const big = await bySize(64 * 1024, BIG_DOCS);
      const smallFigure = { scenario: `1 KB docs (${FANOUT_DOCS}), items up to 200 KiB`, value: small };
      push({ ...smallFigure, unit: 'docs/s', notes: `${((small * 1024) / 1e6).toFixed(2)} MB/s` });
      push({ scenario: `64 KB docs (${BIG_DOCS}), items up to 200 KiB`, value: big, unit: 'docs/s', baseline: { ...smallFigure, ratio: big / small }, notes: `${((big * 64 * 1024) / 1e6).toFixed(2)} MB/s` });
    }

    let first: { count: number; seconds: number; rss: number } | undefined;
    for (const count of BACKLOGS) {
      const { seconds, rss, ready } = await backlog(count);
      first ??= { count, seconds, rss: rss[0] };
      const scale = count / first.count;
      push({
        scenario: `drain a backlog of ${count} changes (publisher start -> last doc in B)`,
        value: seconds,
        unit: 's',
        baseline: { scenario: `${first.count} backlog x ${scale}`, value: first.seconds * scale, ratio: seconds / (first.seconds * scale) },
        notes: `${(count / seconds).toFixed(0)} changes/s`,
      });
      push({
        scenario: `publisher daemon peak RSS (VmHWM), backlog ${count}`,
        value: rss[0],
        unit: 'MB',
        baseline: { scenario: `backlog ${first.count}`, value: first.rss, ratio: rss[0] / first.rss },
        notes: `${ready[0].toFixed(0)} MB when ready`,
      });
      push({ scenario: `subscriber daemon peak RSS (VmHWM), backlog ${count}`, value: rss[1], unit: 'MB', notes: `${ready[1].toFixed(0)} MB when ready` });
    }
    return figures;
  },
};
