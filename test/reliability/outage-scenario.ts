import { seededRandom } from '../support/seeded-random.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { startCouchPair } from './couch-pair.js';
import { converge, CouchWorkload, type Difference } from './couch-workload.js';

/**
 * Outages of the services around running daemons, with changes flowing all along: the sink's
 * CouchDB server goes away (a proxy refuses and cuts connections, the server keeps its data) for
 * `outageMs`, then Prosody is restarted mid-stream. B must end equal to A; B's memory is sampled
 * during the outage to see that the backlog waits upstream instead of piling up in the daemon.
 */
export interface OutageOptions {
  readonly seed: number;
  readonly changesBefore: number;
  readonly changesDuring: number;
  readonly outageMs: number;
}

export interface OutageResult {
  readonly changes: number;
  readonly rssBeforeMb: number;
  readonly rssMaxDuringMb: number;
  /** Retry waits B logged while the sink was away (ms, in order). */
  readonly retryWaits: number[];
  readonly prosodyRestarted: boolean;
  readonly differences: Difference[];
  readonly drainMs: number;
}

export async function runOutage(options: OutageOptions): Promise<OutageResult> {
  let proxy: TcpProxy | undefined;
  const pair = await startCouchPair({
    sinkUrl: async (serverB) => {
      const url = new URL(serverB.url);
      proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port) });
      return `http://127.0.0.1:${proxy.port}`;
    },
  });
  try {
    if (!proxy) throw new Error('no proxy');
    await pair.startB();
    await pair.startA();
    const workload = new CouchWorkload(pair.dbA, seededRandom(options.seed), { maxDocs: 500, batch: 50 });
    await workload.write(options.changesBefore);
    const b = pair.b;
    if (!b) throw new Error('B not started');
    const rssBefore = b.rssBytes() ?? 0;
    const linesBefore = b.lines().length;
    await proxy.down();
    let rssMax = rssBefore;
    const sampler = setInterval(() => {
      rssMax = Math.max(rssMax, b.rssBytes() ?? 0);
    }, 200);
    const outageEnds = Date.now() + options.outageMs;
    await workload.write(options.changesDuring);
    while (Date.now() < outageEnds) await new Promise((resolve) => setTimeout(resolve, 200));
    clearInterval(sampler);
    const retryWaits = b
      .lines()
      .slice(linesBefore)
      .map((l) => l['retryInMs'])
      .filter((w): w is number => typeof w === 'number');
    await proxy.up();
    // Prosody restarted while the backlog drains and new changes come.
    const drainStarted = Date.now();
    const restarting = pair.prosody.restart();
    await workload.write(200);
    await restarting;
    await workload.write(200);
    const differences = await converge(pair.dbA, pair.dbB, 180_000);
    return {
      changes: workload.changes,
      rssBeforeMb: Math.round(rssBefore / 1e6),
      rssMaxDuringMb: Math.round(rssMax / 1e6),
      retryWaits,
      prosodyRestarted: true,
      differences,
      drainMs: Date.now() - drainStarted,
    };
  } finally {
    await proxy?.close();
    await pair.close();
  }
}
