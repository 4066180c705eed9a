/**
 * Scenario a: the transport's own limit. A bare @xmpp/client publisher publishes ~1 KB Atom
 * entries, one entry per PubSub item, to a real Prosody; a bare @xmpp/client subscriber counts
 * the notifications. Items per second from the first publish to the last notification received,
 * sequential (each publish waits for its IQ result) and pipelined (a window of IQs in flight).
 * This is the ceiling a one-entry-per-publish design would have; the pipeline must beat it 5x.
 */
import { randomBytes } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { startProsody, type ProsodyServer } from '../test/harness/prosody.js';
import type { BenchFigure, Benchmark } from './bench-api.js';
import { xml } from '@xmpp/client';
import { atomEntry, bareLogin, NS_ATOM, countItems, createNode, publishIq, request, subscribeBare } from './support/bare-xmpp.js';
import { cpuMicros, cpuSecondsOf, perSecond, size } from './support/sizes.js';

const ITEMS = size(3_000, 20_000);
const WINDOWS = [1, 16, 64, 256];

async function until(what: string, condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * Items per second from the first publish to the last notification, `window` publish IQs in flight,
 * on a fresh node; also the CPU Prosody and these two clients spent per item. Used by
 * couch-e2e too, so that the pipeline is compared with the transport on the same server in one run.
 */
export async function publishRate(
  prosody: ProsodyServer,
  label: string,
  count: number,
  window: number,
  entriesPerItem = 1,
  opaque: false | 'base64' | 'deflated' = false,
  persist = true,
): Promise<{ rate: number; prosodyUs: number; clientsUs: number }> {
  const reader = await prosody.createAccount(`reader-${label}`);
  const publisher = await bareLogin(prosody, prosody.admin, `bench-pub-${label}`);
  const subscriber = await bareLogin(prosody, reader, `bench-sub-${label}`);
  try {
    const body = randomBytes(400).toString('hex'); // with the envelope: ~1 KB per item
    const node = `transport-${label}`;
    await createNode(publisher, prosody.pubsubService, node, 256, persist);
    await subscribeBare(subscriber, prosody.pubsubService, node);
    const received = countItems(subscriber, node);
    const started = performance.now();
    const serverCpu = cpuSecondsOf(prosody.pid);
    const clientCpu = process.cpuUsage();
    let next = 0;
    // `window` workers, each publishing its next item once the previous one is acknowledged.
    await Promise.all(
      Array.from({ length: window }, async () => {
        while (next < count) {
          const i = next++;
          const entries = Array.from({ length: entriesPerItem }, (_, j) => atomEntry(`${label}-${i}-${j}`, body));
          const payload =
            entriesPerItem === 1
              ? atomEntry(`${label}-${i}`, body)
              : opaque
                ? // The same bytes as one text node: what Prosody costs per element vs per byte.
                  // Deflated first: what a compressed feed would cost Prosody.
                  xml('blob', { xmlns: 'urn:example:opaque' }, blob(entries.map(String).join(''), opaque === 'deflated'))
                : xml('feed', { xmlns: NS_ATOM }, ...entries);
          await request(publisher, publishIq(prosody.pubsubService, node, `item-${i}`, payload));
        }
      }),
    );
    await until(`${count} notifications on ${node}`, () => received.count >= count, 600_000);
    return {
      rate: perSecond(count, started),
      prosodyUs: ((cpuSecondsOf(prosody.pid) - serverCpu) * 1e6) / count,
      clientsUs: cpuMicros(clientCpu) / count,
    };
  } finally {
    await publisher.stop();
    await subscriber.stop();
  }
}

export const benchmark: Benchmark = {
  name: 'transport',
  async run(): Promise<readonly BenchFigure[]> {
    const prosody = await startProsody();
    const figures: BenchFigure[] = [];
    try {
      let sequential: number | undefined;
      for (const window of WINDOWS) {
        const count = window === 1 ? Math.min(ITEMS, 2_000) : ITEMS;
        const { rate, prosodyUs, clientsUs } = await publishRate(prosody, String(window), count, window);
        sequential ??= rate;
        const base = { scenario: 'sequential (one publish IQ at a time)', value: sequential };
        figures.push({
          scenario: window === 1 ? `sequential, one 1 KB entry per item, ${count} items` : `pipelined, ${window} publish IQs in flight, ${count} items`,
          value: rate,
          unit: 'items/s',
          ...(window === 1 ? {} : { baseline: { ...base, ratio: rate / sequential } }),
          notes: `CPU per item: prosody ${prosodyUs.toFixed(0)} µs, both bare clients ${clientsUs.toFixed(0)} µs`,
        });
        figures.push({ scenario: `  prosody CPU per item (window ${window})`, value: prosodyUs, unit: 'µs/item' });
      }
      // The same entries packed 32 to an item (~32 KB, as the daemon packs them): is Prosody's
      // cost per item or per byte?
      const packed = await publishRate(prosody, 'packed', Math.max(100, Math.round(ITEMS / 32)), 1, 32);
      figures.push({
        scenario: '  packed: 32 entries per item, sequential, Prosody CPU per entry',
        value: packed.prosodyUs / 32,
        unit: 'µs/entry',
        notes: `${(packed.rate * 32).toFixed(0)} entries/s, ${packed.prosodyUs.toFixed(0)} µs per item`,
      });
      const opaque = await publishRate(prosody, 'opaque', Math.max(100, Math.round(ITEMS / 32)), 1, 32, 'base64');
      figures.push({
        scenario: '  the same 32 entries as one base64 text node, Prosody CPU per entry',
        value: opaque.prosodyUs / 32,
        unit: 'µs/entry',
        notes: `${(opaque.rate * 32).toFixed(0)} entries/s, ${opaque.prosodyUs.toFixed(0)} µs per item`,
      });
      // A node that does not persist its items: pubsync's catch-up comes from the origin's own
      // log, not from the node, and Prosody's memory store serializes each persisted item to Lua
      // source and compiles it back (mod_storage_memory archive_store:append): a cost per byte.
      const unpersisted = await publishRate(prosody, 'unpersisted', Math.min(ITEMS, 2_000), 1, 1, false, false);
      figures.push({
        scenario: `sequential, one 1 KB entry per item, node with persist_items off, ${Math.min(ITEMS, 2_000)} items`,
        value: unpersisted.rate,
        unit: 'items/s',
        baseline: { scenario: 'sequential (one publish IQ at a time)', value: sequential ?? 0, ratio: unpersisted.rate / (sequential ?? 1) },
        notes: `CPU per item: prosody ${unpersisted.prosodyUs.toFixed(0)} µs, both bare clients ${unpersisted.clientsUs.toFixed(0)} µs`,
      });
      const packedUnpersisted = await publishRate(prosody, 'packed-unpersisted', Math.max(100, Math.round(ITEMS / 32)), 1, 32, false, false);
      figures.push({
        scenario: '  packed: 32 entries per item, node with persist_items off, Prosody CPU per entry',
        value: packedUnpersisted.prosodyUs / 32,
        unit: 'µs/entry',
        notes: `${(packedUnpersisted.rate * 32).toFixed(0)} entries/s, ${packedUnpersisted.prosodyUs.toFixed(0)} µs per item`,
      });
      // Deflated before base64: the entries here carry random hex (compresses ~2x only; real
      // entries, mostly markup and repeated field names, compress several times better).
      for (const perItem of [32, 128]) {
        const deflated = await publishRate(prosody, `deflated-${perItem}`, Math.max(50, Math.round(ITEMS / perItem)), 1, perItem, 'deflated');
        figures.push({
          scenario: `  ${perItem} entries deflated, as one base64 text node, Prosody CPU per entry`,
          value: deflated.prosodyUs / perItem,
          unit: 'µs/entry',
          notes: `${(deflated.rate * perItem).toFixed(0)} entries/s, ${deflated.prosodyUs.toFixed(0)} µs per item, ${blob(Array.from({ length: perItem }, (_, j) => String(atomEntry(`x-${j}`, randomBytes(400).toString('hex')))).join(''), true).length} bytes of base64 per item`,
        });
      }
    } finally {
      await prosody.stop();
    }
    return figures;
  },
};

function blob(text: string, deflated: boolean): string {
  return (deflated ? deflateRawSync(text) : Buffer.from(text)).toString('base64');
}
