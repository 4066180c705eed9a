/** Probe (not a benchmark module): single changes, one per second, on an idle pipeline: where does the time go? */
import { request } from 'node:http';
import { noteDoc, post } from '../support/couch-http.js';
import { CouchPipeline } from '../support/couch-pipeline.js';

const pipeline = await CouchPipeline.start(process.env['PROBE_SWAP'] ? { swap: process.env['PROBE_SWAP'] } : {});
try {
  const arrived = new Map<string, number>();
  const req = request(`${pipeline.b.url}/${pipeline.replicas[0]}/_changes?feed=continuous&since=now&heartbeat=5000`, (res) => {
    res.setEncoding('utf8').on('data', (chunk: string) => {
      for (const line of chunk.split('\n')) if (line.startsWith('{"seq"') || line.includes('"id"')) arrived.set((JSON.parse(line) as { id: string }).id, performance.now());
    });
  });
  req.end();
  const out: number[] = [];
  for (let i = 0; i < 12; i++) {
    const t0 = performance.now();
    await post(`${pipeline.a.url}/${pipeline.origin}/_bulk_docs`, { docs: [noteDoc(`probe-${i}`, i)] });
    while (!arrived.has(`probe-${i}`)) await new Promise((r) => setTimeout(r, 2));
    out.push(Math.round(arrived.get(`probe-${i}`)! - t0));
    await new Promise((r) => setTimeout(r, 500));
  }
  process.stdout.write(`single-change latencies (ms): ${out.join(' ')}\n`);
  req.destroy();
} finally {
  await pipeline.stop();
}
