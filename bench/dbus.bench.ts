import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Message, MessageType, Variant, type MessageBus } from 'dbus-next';
import { BatchCollector, MemoryPluginState, createTestContext, instantiate, nextCsn, objectEntry } from '../src/testing/index.js';
import type { ObjectEntry, SinkOperation } from '../src/plugin-api/index.js';
import { dbusSink, dbusSource } from '../plugins/dbus/index.js';
import { connectDbus, startDbus, subscribeSignals } from '../test/harness/dbus.js';
import { APP, startNotesApp } from '../test/integration/dbus/notes-app-process.js';
import type { BenchFigure, Benchmark } from './bench-api.js';

const NOTES = 5_000;
const PIPELINE = 200;

/**
 * The dbus plugin on the example notes app (a real process on a private bus): the rate at which
 * foreign change signals become source changes (each one a Get and a hash comparison), against
 * the raw delivery rate of the same signals to a plain dbus-next subscriber in the same run; the
 * start-up rescan; and the sink's Put rate against raw Put calls.
 */
export const benchmark: Benchmark = {
  name: 'dbus',
  async run() {
    const dbus = await startDbus();
    // A silent app: the only signals are the ones the bench sends, so each one is counted once.
    const app = await startNotesApp(dbus.address, join(dbus.dir, 'notes'), ['--no-signals']);
    const client = await connectDbus(dbus.address);
    try {
      const ids = Array.from({ length: NOTES }, (_, i) => `bench-${i}`);
      const rawPut = await timePuts(client, ids, 'v1');
      const delivered = await timeRawSignals(client, dbus.address, ids);

      const state = new MemoryPluginState();
      const options = { bus: dbus.address, service: APP.service, objectPath: APP.path, interface: APP.iface };
      const controller = new AbortController();
      const source = await instantiate(dbusSource, options, createTestContext({ state, signal: controller.signal }));
      const started = performance.now();
      const collector = new BatchCollector(source.start(undefined, controller.signal));
      await collector.waitFor('the start-up rescan', (b) => (count(b) >= NOTES ? true : undefined), 120_000);
      const rescan = NOTES / ((performance.now() - started) / 1000);

      await timePuts(client, ids, 'v2');
      const before = collector.changes.length;
      const signalled = performance.now();
      for (const id of ids) client.send(signal(id));
      await collector.waitFor('a change per signal', (b) => (count(b) >= before + NOTES ? true : undefined), 120_000);
      const signalToChange = NOTES / ((performance.now() - signalled) / 1000);
      controller.abort();
      await collector.ended(10_000);
      await source.close?.();

      const sinkRate = await timeSink(options, ids);
      const rawSignals = { scenario: `raw signal delivery to a dbus-next subscriber, ${NOTES} signals`, value: delivered };
      const rawPuts = { scenario: `raw Put calls, ${PIPELINE} in flight, ${NOTES} notes`, value: rawPut };
      return [
        { ...rawSignals, unit: 'signals/s' },
        {
          scenario: `dbus source: foreign signal -> Get -> change, ${NOTES} notes`,
          value: signalToChange,
          unit: 'changes/s',
          baseline: { ...rawSignals, ratio: signalToChange / delivered },
        },
        {
          scenario: `dbus source: start-up rescan (List + Get each), ${NOTES} notes`,
          value: rescan,
          unit: 'objects/s',
        },
        { ...rawPuts, unit: 'calls/s' },
        {
          scenario: `dbus sink: Get + merge + Put per entry, batches of 100, ${NOTES} notes`,
          value: sinkRate,
          unit: 'entries/s',
          baseline: { ...rawPuts, ratio: sinkRate / rawPut },
        },
      ] satisfies BenchFigure[];
    } finally {
      client.disconnect();
      await app.stop();
      await dbus.stop();
    }
  },
};

function count(batches: readonly { changes: readonly unknown[] }[]): number {
  return batches.reduce((sum, batch) => sum + batch.changes.length, 0);
}

function signal(id: string): Message {
  return new Message({
    type: MessageType.SIGNAL,
    path: APP.path,
    interface: APP.iface,
    member: 'ObjectChanged',
    signature: 'sss',
    body: ['note', id, 'put'],
  });
}

async function timePuts(client: MessageBus, ids: readonly string[], version: string): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < ids.length; i += PIPELINE) {
    await Promise.all(
      ids.slice(i, i + PIPELINE).map((id) =>
        client.call(
          new Message({
            destination: APP.service,
            path: APP.path,
            interface: APP.iface,
            member: 'Put',
            signature: 'sa{sv}',
            body: [id, { title: new Variant('s', `${id} ${version}`), n: new Variant('x', BigInt(i)) }],
          }),
        ),
      ),
    );
  }
  return ids.length / ((performance.now() - started) / 1000);
}

async function timeRawSignals(sender: MessageBus, address: string, ids: readonly string[]): Promise<number> {
  const receiver = await connectDbus(address);
  try {
    const subscription = await subscribeSignals(receiver, { interface: APP.iface, member: 'ObjectChanged' });
    const started = performance.now();
    for (const id of ids) sender.send(signal(id));
    for (let i = 0; i < ids.length; i++) await subscription.next(60_000);
    const rate = ids.length / ((performance.now() - started) / 1000);
    await subscription.close();
    return rate;
  } finally {
    receiver.disconnect();
  }
}

async function timeSink(options: Record<string, unknown>, ids: readonly string[]): Promise<number> {
  const sink = await instantiate(dbusSink, options, createTestContext({ kind: 'sink' }));
  const operations: SinkOperation[] = ids.map((id) => {
    const entry: ObjectEntry = objectEntry({ type: 'note', keys: [{ scheme: 'dbus-id', value: id }], fields: { title: `${id} v3` } });
    return { entry: { ...entry, csn: nextCsn() }, fields: ['title'], localKey: id };
  });
  const started = performance.now();
  for (let i = 0; i < operations.length; i += 100) {
    await sink.apply(operations.slice(i, i + 100), new AbortController().signal);
  }
  const rate = operations.length / ((performance.now() - started) / 1000);
  await sink.close?.();
  return rate;
}
