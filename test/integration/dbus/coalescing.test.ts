import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Message, Variant, type MessageBus } from 'dbus-next';
import { MemoryPluginState } from 'pubsync/testing';
import { connectDbus, startDbus, subscribeSignals, type DbusDaemon, type SignalSubscription } from '../../harness/dbus.js';
import { APP, gdbusCall, startNotesApp, type NotesApp } from './notes-app-process.js';
import { fieldValues, idOf, runSource, type RunningSource } from './source-run.js';

/**
 * Bursts of signals for one object, end to end: the app counts the calls it serves (--count-calls,
 * read back with gdbus through its Stats method), so the number of Get calls the source made is the
 * server's own count, not ours.
 */

const run = promisify(execFile);
const BURST = 200;
// Wide enough that a burst spread out by a loaded machine still falls into a few windows.
const COALESCE_MS = 250;
let counter = 0;
const uniqueId = (label: string): string => `${label}-${process.pid}-${++counter}`;

/** The app's per-method call counts, through a real D-Bus call made by gdbus. */
async function stats(address: string): Promise<Record<string, number>> {
  const text = await gdbusCall(address, 'Stats');
  return Object.fromEntries([...text.matchAll(/'(\w+)': (?:uint64 )?(\d+)/g)].map((m) => [m[1] ?? '', Number(m[2])]));
}

async function getCalls(address: string): Promise<number> {
  return (await stats(address)).Get ?? 0;
}

async function titleInApp(address: string, id: string): Promise<string> {
  const match = /'title': <'([^']*)'>/.exec(await gdbusCall(address, 'Get', id));
  assert.ok(match?.[1], `no title in the app's ${id}`);
  return match[1];
}

describe('dbus source coalesces bursts of signals for one object (real app, real bus)', () => {
  let dbus: DbusDaemon;
  let app: NotesApp;
  let source: RunningSource;
  let client: MessageBus;
  let watcher: MessageBus;
  let signals: SignalSubscription;

  before(async () => {
    dbus = await startDbus();
    app = await startNotesApp(dbus.address, join(dbus.dir, 'notes'), ['--count-calls']);
    source = await runSource(dbus.address, new MemoryPluginState(), undefined, { coalesceMs: COALESCE_MS });
    client = await connectDbus(dbus.address);
    // A bystander on the bus that sees every ObjectChanged, whoever sends it: the signal count.
    watcher = await connectDbus(dbus.address);
    signals = await subscribeSignals(watcher, { interface: APP.iface, member: 'ObjectChanged' });
  });
  after(async () => {
    await signals?.close().catch(() => undefined);
    watcher?.disconnect();
    client?.disconnect();
    await source?.stop().catch(() => undefined);
    await app?.stop();
    await dbus?.stop();
  });

  /**
   * Signals from one sender arrive in order, and the inbox fetches in first-signalled order: once a
   * marker put after the burst is captured, every Get the burst caused has been made.
   */
  async function settle(): Promise<void> {
    const marker = uniqueId('marker');
    await gdbusCall(dbus.address, 'Put', marker, "{'title': <'marker'>}");
    await source.waitForUpsert(marker);
  }

  /** Waits until the bystander has seen `count` ObjectChanged signals for `id` in all. */
  async function expectSignals(id: string, count: number): Promise<void> {
    for (let seen = 0; seen < count; ) if ((await signals.next(10_000)).body[1] === id) seen++;
  }

  const upsertsOf = (id: string) => source.collector.changes.filter((c) => c.op === 'upsert' && idOf(c) === id);

  it(`${BURST} Puts through the app: far fewer Gets and changes than signals, and the last state wins`, async (t) => {
    const id = uniqueId('burst');
    await gdbusCall(dbus.address, 'Put', id, "{'title': <'v0'>}");
    await source.waitForUpsert(id, (c) => fieldValues(c, 'title')?.[0] === 'v0');
    await settle();
    const getsBefore = await getCalls(dbus.address);
    const upsertsBefore = upsertsOf(id).length;

    // One client, all Puts in flight at once: a burst of BURST ObjectChanged signals from the app.
    const put = (title: string) =>
      client.call(
        new Message({
          destination: APP.service,
          path: APP.path,
          interface: APP.iface,
          member: 'Put',
          signature: 'sa{sv}',
          body: [id, { title: new Variant('s', title) }],
        }),
      );
    const replies = await Promise.all(Array.from({ length: BURST }, (_, i) => put(`v${i + 1}`)));
    const revisions = replies.map((reply) => String(reply?.body[0]));
    assert.equal(new Set(revisions).size, BURST, 'every Put was a change of its own');
    await settle();
    const gets = (await getCalls(dbus.address)) - getsBefore - 1; // minus the marker's own Get
    await expectSignals(id, 1 + BURST);
    // Read after counting: this Get is the test's, not the source's.
    const latest = await titleInApp(dbus.address, id);
    const upserts = upsertsOf(id).slice(upsertsBefore);
    t.diagnostic(`${BURST} Puts -> ${gets} Get calls, ${upserts.length} change entries`);
    assert.ok(gets >= 1 && gets <= BURST / 10, `${gets} Get calls for ${BURST} signals`);
    assert.ok(upserts.length >= 1 && upserts.length <= gets, `${upserts.length} change entries for ${gets} Gets`);
    const last = upserts.at(-1);
    assert.ok(last?.op === 'upsert');
    assert.deepEqual(fieldValues(last, 'title'), [latest], 'the last captured state is not the latest');
  });

  it(`${BURST} foreign signals from one dbus-send loop: far fewer Gets, and the latest state`, async (t) => {
    const id = uniqueId('foreign');
    await gdbusCall(dbus.address, 'Put', id, "{'title': <'first'>}");
    await source.waitForUpsert(id);
    await settle();
    const getsBefore = await getCalls(dbus.address);
    const upsertsBefore = upsertsOf(id).length;

    // The new state, then the burst: a foreign process (not the name owner) signalling the same object.
    await gdbusCall(dbus.address, 'Put', id, "{'title': <'second'>}");
    const signal = `dbus-send --bus="$A" --type=signal ${APP.path} ${APP.iface}.ObjectChanged string:note string:${id} string:put`;
    await run('sh', ['-c', `for i in $(seq ${BURST}); do ${signal} || exit 1; done`], { env: { ...process.env, A: dbus.address } });
    await settle();

    const gets = (await getCalls(dbus.address)) - getsBefore - 1;
    await expectSignals(id, 2 + BURST);
    const upserts = upsertsOf(id).slice(upsertsBefore);
    t.diagnostic(`1 Put + ${BURST} dbus-send signals -> ${gets} Get calls, ${upserts.length} change entries`);
    // dbus-send is a process per signal, so the burst is spread out: a few coalescing windows.
    assert.ok(gets >= 1 && gets <= BURST / 4, `${gets} Get calls for ${BURST + 1} signals`);
    // Fetches that find what was already captured yield nothing: one change for one new state.
    assert.equal(upserts.length, 1, `${upserts.length} change entries for one new state`);
    const only = upserts[0];
    assert.ok(only?.op === 'upsert');
    assert.deepEqual(fieldValues(only, 'title'), ['second']);
  });
});

describe('notes app Stats (the call counter the test above relies on)', () => {
  let dbus: DbusDaemon;
  const apps: NotesApp[] = [];
  before(async () => {
    dbus = await startDbus();
  });
  after(async () => {
    for (const app of apps) await app.stop();
    await dbus?.stop();
  });

  it('counts each method call, failed ones included, and is refused without --count-calls', async () => {
    const counting = await startNotesApp(dbus.address, join(dbus.dir, 'counted'), ['--count-calls']);
    apps.push(counting);
    await gdbusCall(dbus.address, 'Put', 'n1', "{'title': <'x'>}");
    await gdbusCall(dbus.address, 'Get', 'n1');
    await assert.rejects(gdbusCall(dbus.address, 'Get', 'missing'), /org\.pubsync\.Notes\.Error\.NotFound/);
    assert.deepEqual(await stats(dbus.address), { Put: 1, Get: 2 });
    await counting.stop();

    apps.push(await startNotesApp(dbus.address, join(dbus.dir, 'plain')));
    await assert.rejects(gdbusCall(dbus.address, 'Stats'), /org\.freedesktop\.DBus\.Error\.UnknownMethod: Stats needs/);
  });
});
