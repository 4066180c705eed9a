/**
 * End-to-end throughput of the XMPP transport between two daemons on one real Prosody: changes
 * captured by one daemon until applied by the other, for several batch sizes (xmpp.publish
 * maxEntries and maxBytes; delayMs 20). The baseline is one entry per PubSub item, measured in the same run.
 * Also the catch-up of the same number of changes made while the subscriber was stopped.
 */
import { startProsody } from '../test/harness/prosody.js';
import { eventually, note, Replica } from '../test/integration/xmpp/replicas.js';
import type { BenchFigure, Benchmark } from './bench-api.js';

const CHANGES = 3000;
/** [maxEntries, maxBytes]: one entry per item (baseline), the defaults, large items. */
const SIZES: [number, number][] = [
  [1, 200 * 1024],
  [100, 64 * 1024],
  [200, 200 * 1024],
];

export const benchmark: Benchmark = {
  name: 'xmpp-publish',
  async run(): Promise<readonly BenchFigure[]> {
    const prosody = await startProsody({ admins: SIZES.map(([size]) => `pub${size}@localhost`) });
    const figures: BenchFigure[] = [];
    try {
      let baseline: { scenario: string; value: number } | undefined;
      for (const [size, bytes] of SIZES) {
        const pub = await prosody.createAccount(`pub${size}`);
        const sub = await prosody.createAccount(`sub${size}`);
        const node = `bench-${size}`;
        const alpha = new Replica(prosody, { account: pub, replica: 1, nodes: [{ name: node, members: [sub.jid] }], xmpp: { publish: { maxEntries: size, maxBytes: bytes, delayMs: 20 } } });
        const beta = new Replica(prosody, { account: sub, replica: 2, subscriptions: [{ name: 'in', node, publisher: pub.jid }] });
        try {
          await alpha.start();
          await beta.start();
          const ids = Array.from({ length: CHANGES }, (_, i) => `b${size}-${i}`);
          const started = performance.now();
          alpha.source.add(...ids.map((id) => note(id, `benchmark change ${id} with some text to carry`)));
          await eventually('all applied', () => beta.sink.objects.size >= CHANGES, 300_000);
          const rate = CHANGES / ((performance.now() - started) / 1000);
          const scenario = `live, ${CHANGES} changes, maxEntries ${size}, maxBytes ${bytes / 1024} KiB`;
          baseline ??= { scenario, value: rate };
          figures.push({ scenario, value: Math.round(rate), unit: 'changes/s', baseline: { ...baseline, value: Math.round(baseline.value), ratio: rate / baseline.value } });

          if (size === 100) {
            await beta.stop();
            const more = Array.from({ length: CHANGES }, (_, i) => `c${size}-${i}`);
            alpha.source.add(...more.map((id) => note(id, `made while the subscriber was away ${id}`)));
            await eventually('published', () => alpha.transport.publisher.position >= BigInt(2 * CHANGES), 300_000);
            const t0 = performance.now();
            await beta.start();
            await eventually('caught up', () => beta.sink.objects.size >= 2 * CHANGES, 300_000);
            figures.push({ scenario: `catch-up of ${CHANGES} changes (start, login, pull, apply), page 500, items of 64 KiB`, value: Math.round(CHANGES / ((performance.now() - t0) / 1000)), unit: 'changes/s' });
          }
        } finally {
          await beta.dispose();
          await alpha.dispose();
        }
      }
    } finally {
      await prosody.stop();
    }
    return figures;
  },
};
