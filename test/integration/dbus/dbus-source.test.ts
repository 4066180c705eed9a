import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { MemoryPluginState, createTestContext, instantiate, objectEntry } from 'pubsync/testing';
import { startDbus, type DbusDaemon } from '../../harness/dbus.js';
import { dbusSink } from '../../../plugins/dbus/index.js';
import { dbusSendCall, dbusSendSignal, gdbusCall, gdbusEmit, startNotesApp, type NotesApp } from './notes-app-process.js';
import { appOptions, fieldValues, idOf, runSource, type RunningSource } from './source-run.js';

const execFileAsync = promisify(execFile);
let counter = 0;
const uniqueId = (label: string): string => `${label}-${process.pid}-${++counter}`;

describe('dbus source on the example app', () => {
  let dbus: DbusDaemon;
  let app: NotesApp;
  let data: string;
  const running: RunningSource[] = [];
  const start = async (state: MemoryPluginState, from?: string, extra?: Record<string, unknown>) => {
    const source = await runSource(dbus.address, state, from, extra);
    running.push(source);
    return source;
  };

  before(async () => {
    dbus = await startDbus();
    data = join(dbus.dir, 'notes');
    app = await startNotesApp(dbus.address, data);
  });
  after(async () => {
    for (const source of running) await source.stop().catch(() => undefined);
    await app?.stop();
    await dbus?.stop();
  });

  it('captures a note put through the app (gdbus), with typed fields fetched on the signal', async () => {
    const source = await start(new MemoryPluginState());
    const id = uniqueId('typed');
    await gdbusCall(
      dbus.address,
      'Put',
      id,
      "{'title': <'hello'>, 'tags': <['a', 'b']>, 'n': <int64 42>, 'raw': <[byte 1, 2]>, 'ok': <true>, 'price': <12.5>, 'm': <{'k': <int32 7>}>}",
    );
    const change = await source.waitForUpsert(id);
    assert.equal(change.type, 'note');
    assert.deepEqual(change.keys, [{ scheme: 'dbus-id', value: id }]);
    const byName = Object.fromEntries(change.fields.map((field) => [field.name, field]));
    assert.deepEqual(byName.title, { name: 'title', type: 'string', values: ['hello'] });
    assert.deepEqual(byName.tags, { name: 'tags', type: 'string', values: ['a', 'b'] });
    assert.deepEqual(byName.n, { name: 'n', type: 'integer', values: [42n] });
    assert.deepEqual(byName.raw, { name: 'raw', type: 'binary', values: [Uint8Array.from([1, 2])] });
    assert.deepEqual(byName.ok, { name: 'ok', type: 'boolean', values: [true] });
    assert.deepEqual(byName.price, { name: 'price', type: 'decimal', values: ['12.5'] });
    assert.deepEqual(byName.m, { name: 'm', type: 'json', values: [{ k: 7 }] });
  });

  it('captures a delete made with dbus-send', async () => {
    const source = await start(new MemoryPluginState());
    const id = uniqueId('deleted');
    await gdbusCall(dbus.address, 'Put', id, "{'title': <'doomed'>}");
    await source.waitForUpsert(id);
    await dbusSendCall(dbus.address, 'Delete', `string:${id}`);
    const change = await source.waitFor(`a delete of ${id}`, (c) => c.op === 'delete' && idOf(c) === id);
    assert.equal(change.type, 'note');
  });

  it('finds on start what changed and what was deleted while it was stopped', async () => {
    const state = new MemoryPluginState();
    const [kept, changed, deleted, added] = ['kept', 'changed', 'deleted', 'added'].map(uniqueId) as [string, string, string, string];
    const first = await start(state);
    for (const id of [kept, changed, deleted]) await gdbusCall(dbus.address, 'Put', id, `{'title': <'${id} v1'>}`);
    for (const id of [kept, changed, deleted]) await first.waitForUpsert(id);
    // A later change the core has stored, so the hashes of the three are on record.
    const marker = uniqueId('marker');
    await gdbusCall(dbus.address, 'Put', marker, "{'title': <'m'>}");
    await first.waitForUpsert(marker);
    const committed = first.lastCheckpoint();
    await first.stop();

    await gdbusCall(dbus.address, 'Put', changed, "{'title': <'v2 while stopped'>}");
    await gdbusCall(dbus.address, 'Delete', deleted);
    await gdbusCall(dbus.address, 'Put', added, "{'title': <'added while stopped'>}");

    const second = await start(state, committed);
    await second.waitForUpsert(changed, (c) => fieldValues(c, 'title')?.[0] === 'v2 while stopped');
    await second.waitForUpsert(added);
    await second.waitFor(`a delete of ${deleted}`, (c) => c.op === 'delete' && idOf(c) === deleted);
    // The rescan is one pass: once its results are in, kept would have been among them.
    const afterScan = uniqueId('after-scan');
    await gdbusCall(dbus.address, 'Put', afterScan, "{'title': <'x'>}");
    await second.waitForUpsert(afterScan);
    assert.deepEqual(
      second.collector.changes.filter((c) => idOf(c) === kept || idOf(c) === marker),
      [],
      'unchanged objects were yielded again after the restart',
    );
  });

  it('survives the app restarting, and finds what changed while it was away', async () => {
    const source = await start(new MemoryPluginState());
    const before = uniqueId('before-restart');
    await gdbusCall(dbus.address, 'Put', before, "{'title': <'v1'>}");
    await source.waitForUpsert(before);

    await app.stop();
    // Another build of the app that changes notes without signalling them, then the real one back.
    const silent = await startNotesApp(dbus.address, data, ['--no-signals']);
    const away = uniqueId('while-away');
    await gdbusCall(dbus.address, 'Put', away, "{'title': <'silent'>}");
    await gdbusCall(dbus.address, 'Put', before, "{'title': <'v2 silent'>}");
    await silent.stop();
    app = await startNotesApp(dbus.address, data);

    await source.waitForUpsert(away);
    await source.waitForUpsert(before, (c) => fieldValues(c, 'title')?.[0] === 'v2 silent');
    const after = uniqueId('after-restart');
    await gdbusCall(dbus.address, 'Put', after, "{'title': <'signalled'>}");
    await source.waitForUpsert(after);
  });

  it('does not publish what its own sink wrote, but does publish a later foreign change', async () => {
    const state = new MemoryPluginState();
    const source = await start(state);
    const sink = await instantiate(dbusSink, appOptions(dbus.address), createTestContext({ kind: 'sink', state }));
    const id = uniqueId('echo');
    const entry = objectEntry({ type: 'note', keys: [{ scheme: 'dbus-id', value: id }], fields: { title: 'from the sink' } });
    const [outcome] = await sink.apply([{ entry, fields: ['title'] }], new AbortController().signal);
    assert.deepEqual(outcome, { status: 'applied', localKey: id });
    assert.match(await gdbusCall(dbus.address, 'Get', id), /from the sink/);

    // Signals are handled in order: once a later change is through, the echo's signal was too.
    const marker = uniqueId('echo-marker');
    await gdbusCall(dbus.address, 'Put', marker, "{'title': <'m'>}");
    await source.waitForUpsert(marker);
    assert.deepEqual(source.collector.changes.filter((c) => idOf(c) === id), [], 'the sink write was re-published');

    await gdbusCall(dbus.address, 'Put', id, "{'title': <'edited by a user'>}");
    await source.waitForUpsert(id, (c) => fieldValues(c, 'title')?.[0] === 'edited by a user');
    await sink.close?.();
  });
});

describe('dbus source and foreign senders (app that does not signal)', () => {
  let dbus: DbusDaemon;
  let app: NotesApp;
  let source: RunningSource;

  before(async () => {
    dbus = await startDbus();
    app = await startNotesApp(dbus.address, join(dbus.dir, 'notes'), ['--no-signals']);
    source = await runSource(dbus.address, new MemoryPluginState(), undefined);
  });
  after(async () => {
    await source?.stop().catch(() => undefined);
    await app?.stop();
    await dbus?.stop();
  });

  it('fetches the object named by a dbus-send signal', async () => {
    const id = uniqueId('dbus-send');
    await gdbusCall(dbus.address, 'Put', id, "{'title': <'silent put'>}");
    await dbusSendSignal(dbus.address, id, 'put-by-dbus-send');
    const change = await source.waitForUpsert(id);
    assert.deepEqual(fieldValues(change, 'title'), ['silent put']);
  });

  it('fetches the object named by a gdbus emit signal', async () => {
    const id = uniqueId('gdbus-emit');
    await gdbusCall(dbus.address, 'Put', id, "{'title': <'silent put 2'>}");
    await gdbusEmit(dbus.env, id);
    const change = await source.waitForUpsert(id);
    assert.deepEqual(fieldValues(change, 'title'), ['silent put 2']);
  });

  it('turns a signal for an object that is gone into a delete', async () => {
    const id = uniqueId('gone');
    await gdbusCall(dbus.address, 'Put', id, "{'title': <'x'>}");
    await dbusSendSignal(dbus.address, id);
    await source.waitForUpsert(id);
    await gdbusCall(dbus.address, 'Delete', id);
    await dbusSendSignal(dbus.address, id, 'whatever');
    await source.waitFor(`a delete of ${id}`, (c) => c.op === 'delete' && idOf(c) === id);
  });
});

describe('dbus source when the app or the bus is away', () => {
  it('waits for an app that is not there yet, and scans it when it takes its name', async () => {
    const dbus = await startDbus();
    const cleanups: (() => Promise<void>)[] = [() => dbus.stop()];
    try {
      const data = join(dbus.dir, 'notes');
      const seeded = await startNotesApp(dbus.address, data, ['--no-signals']);
      const id = uniqueId('there-before');
      await gdbusCall(dbus.address, 'Put', id, "{'title': <'old'>}");
      await seeded.stop();

      const source = await runSource(dbus.address, new MemoryPluginState(), undefined);
      cleanups.push(() => source.stop());
      const app = await startNotesApp(dbus.address, data);
      cleanups.push(() => app.stop());
      await source.waitForUpsert(id);
    } finally {
      // Newest first: the source and the app before the bus they are on.
      for (const cleanup of cleanups.reverse()) await cleanup();
    }
  });

  it('ends with NotConnectedError when the bus goes away', async () => {
    const dbus = await startDbus();
    const app = await startNotesApp(dbus.address, join(dbus.dir, 'notes'));
    try {
      const source = await runSource(dbus.address, new MemoryPluginState(), undefined);
      const id = uniqueId('before-loss');
      await gdbusCall(dbus.address, 'Put', id, "{'title': <'x'>}");
      await source.waitForUpsert(id);
      await dbus.stop();
      await assert.rejects(
        source.waitFor('the end', () => false, 10_000),
        (error: Error) => {
          const cause = error.cause as { code?: string; kind?: string } | undefined;
          assert.equal(cause?.code, 'PUBSYNC_ERR_DBUS_UNAVAILABLE', `got ${String(error.cause)}`);
          assert.equal(cause?.kind, 'not-connected');
          return true;
        },
      );
    } finally {
      await app.stop();
      await dbus.stop();
    }
  });
});

describe('dbus source with objects carried in the signal (objectFrom: signal)', () => {
  let dbus: DbusDaemon;
  let app: NotesApp;
  let source: RunningSource;

  before(async () => {
    dbus = await startDbus();
    app = await startNotesApp(dbus.address, join(dbus.dir, 'notes'), ['--no-signals', '--signal-fields']);
    source = await runSource(dbus.address, new MemoryPluginState(), undefined, {
      signal: 'ObjectUpdated',
      objectFrom: 'signal',
    });
  });
  after(async () => {
    await source?.stop().catch(() => undefined);
    await app?.stop();
    await dbus?.stop();
  });

  it("captures the app's puts and deletes from the signal's fields", async () => {
    const id = uniqueId('carried');
    await gdbusCall(dbus.address, 'Put', id, "{'title': <'in the signal'>, 'n': <int64 5>}");
    const change = await source.waitForUpsert(id);
    assert.deepEqual(fieldValues(change, 'title'), ['in the signal']);
    assert.deepEqual(fieldValues(change, 'n'), [5n]);
    await gdbusCall(dbus.address, 'Delete', id);
    await source.waitFor(`a delete of ${id}`, (c) => c.op === 'delete' && idOf(c) === id);
  });

  it('takes the object from a foreign gdbus emit without calling Get', async () => {
    // The app has no such note, so only the signal's own fields can produce this upsert.
    const id = uniqueId('only-in-signal');
    await execFileAsync(
      'gdbus',
      ['emit', '--session', '--object-path', '/org/pubsync/Notes', '--signal', 'org.pubsync.Notes.ObjectUpdated', 'note', id, 'put', "{'title': <'from gdbus emit'>}"],
      { env: dbus.env },
    );
    const change = await source.waitForUpsert(id);
    assert.deepEqual(fieldValues(change, 'title'), ['from gdbus emit']);
    await assert.rejects(gdbusCall(dbus.address, 'Get', id), /NotFound/);
  });
});
