/** Probe (not a benchmark module): does the pipeline move N documents at all? Prints both daemons' log tails when not. */
import { seed, waitForCount } from '../support/couch-http.js';
import { CouchPipeline } from '../support/couch-pipeline.js';

const n = Number(process.argv[2] ?? 200);
const pipeline = await CouchPipeline.start(process.env['PROBE_SWAP'] ? { swap: process.env['PROBE_SWAP'] } : {});
try {
  const t0 = performance.now();
  await seed(pipeline.a.url, pipeline.origin, n);
  try {
    const done = await waitForCount(pipeline.b.url, pipeline.replicas[0]!, n, 30_000, () => pipeline.assertRunning());
    process.stdout.write(`${n} docs in ${((done - t0) / 1000).toFixed(2)} s\n`);
  } catch (error) {
    process.stdout.write(`FAILED: ${(error as Error).message}\n--- publisher\n${pipeline.publisher.logTail().slice(-6000)}\n--- subscriber\n${pipeline.subscribers[0]!.logTail().slice(-4000)}\n`);
  }
} finally {
  await pipeline.stop();
}
