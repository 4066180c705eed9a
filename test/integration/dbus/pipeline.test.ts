import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createTestContext, instantiate } from 'pubsync/testing';
import { serializeEntry } from '../../../src/format/index.js';
import type { Entry } from '../../../src/format/model.js';
import { Applier } from '../../../src/pipeline/applier.js';
import { runSource as runPipelineSource } from '../../../src/pipeline/source-runner.js';
import { dbusSink, dbusSource } from '../../../plugins/dbus/index.js';
import { startDbus, type DbusDaemon } from '../../harness/dbus.js';
import { capturePipeline, silentLogger } from '../../support/pipeline-fixture.js';
import { gdbusCall, startNotesApp, type NotesApp } from './notes-app-process.js';
import { appOptions } from './source-run.js';

/**
 * Two notes apps on two buses, synced through the core: dbus source -> capture into the SQLite
 * outbound log -> the Atom wire format -> merge and apply -> dbus sink. Typed values must arrive
 * as the same D-Bus types.
 */
describe('dbus app to dbus app through the pipeline', () => {
  let busA: DbusDaemon;
  let busB: DbusDaemon;
  let appA: NotesApp;
  let appB: NotesApp;
  const a = capturePipeline();
  const b = capturePipeline({ jid: 'b@localhost', replica: 2 });
  const controller = new AbortController();
  let running: Promise<void> | undefined;
  let captured = 0;
  const waiters: (() => void)[] = [];

  before(async () => {
    [busA, busB] = await Promise.all([startDbus(), startDbus()]);
    [appA, appB] = await Promise.all([
      startNotesApp(busA.address, join(busA.dir, 'notes')),
      startNotesApp(busB.address, join(busB.dir, 'notes')),
    ]);
    const context = createTestContext({ kind: 'source', signal: controller.signal });
    const source = await instantiate(dbusSource, appOptions(busA.address), context);
    running = runPipelineSource({
      name: 'notes-a',
      source,
      capture: a.capture,
      store: a.store,
      logger: silentLogger,
      signal: controller.signal,
      onCaptured: (entries) => {
        captured += entries.length;
        for (const wake of waiters.splice(0)) wake();
      },
    });
  });
  after(async () => {
    controller.abort();
    await running;
    await Promise.all([appA?.stop(), appB?.stop()]);
    await Promise.all([busA?.stop(), busB?.stop()]);
    a.close();
    b.close();
  });

  /** The entries in A's outbound log, read back from the wire format, once `count` were captured. */
  async function published(count: number): Promise<readonly Entry[]> {
    const deadline = Date.now() + 10_000;
    while (captured < count) {
      if (Date.now() > deadline) throw new Error(`only ${captured} of ${count} entries captured`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
    return a.feed().entries;
  }

  async function applierFor(options: Record<string, unknown> = {}, sinkName = 'notes-b'): Promise<Applier> {
    const sink = await instantiate(dbusSink, appOptions(busB.address, options), createTestContext({ kind: 'sink' }));
    return new Applier({ subscription: 'from-a', sinkName, sink, store: b.store, serialize: serializeEntry, logger: silentLogger });
  }

  it('carries a typed note from app A into app B, and then its delete', async () => {
    await gdbusCall(
      busA.address,
      'Put',
      'n1',
      "{'title': <'hello'>, 'tags': <['a', 'b']>, 'n': <int64 -42>, 'price': <0.1>, 'ok': <false>, 'raw': <[byte 7]>}",
    );
    const applier = await applierFor();
    const created = await published(1);
    assert.equal(created.length, 1);
    const report = await applier.apply(created, controller.signal);
    assert.equal(report.applied, 1, JSON.stringify(report));
    const got = await gdbusCall(busB.address, 'Get', 'n1');
    for (const part of ["'title': <'hello'>", "'tags': <['a', 'b']>", "'n': <int64 -42>", "'price': <0.10000000000000001>", "'ok': <false>", "'raw': <[byte 0x07]>"]) {
      assert.ok(got.includes(part), `${part} in ${got}`);
    }

    await gdbusCall(busA.address, 'Delete', 'n1');
    const all = await published(2);
    const tombstone = all.at(-1);
    assert.equal(tombstone?.deleted, true);
    assert.equal((await applier.apply([tombstone], controller.signal)).applied, 1);
    await assert.rejects(gdbusCall(busB.address, 'Get', 'n1'), /org\.pubsync\.Notes\.Error\.NotFound/);
  });

  it('dead-letters what app B refuses, with the D-Bus error name', async () => {
    await gdbusCall(busA.address, 'Put', 'n2', "{'title': <'refused by B'>}");
    const entries = (await published(3)).slice(-1);
    const applier = await applierFor({ methods: { put: 'Store' } }, 'notes-b-broken');
    const report = await applier.apply(entries, controller.signal);
    assert.equal(report.deadLettered, 1, JSON.stringify(report));
    const letter = b.store.listDeadLetters().at(-1);
    assert.ok(letter !== undefined);
    assert.equal(letter.code, 'org.freedesktop.DBus.Error.UnknownMethod');
    assert.equal(letter.where, 'subscription:from-a');
  });
});
