import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MemoryPluginState, createTestContext, instantiate, nextCsn, objectEntry } from 'pubsync/testing';
import { NotConnectedError } from '../../../src/errors/index.js';
import type { ApplyOutcome, Field, ObjectEntry, Sink } from '../../../src/plugin-api/index.js';
import { startDbus, type DbusDaemon } from '../../harness/dbus.js';
import { dbusSink } from '../../../plugins/dbus/index.js';
import { gdbusCall, startNotesApp, type NotesApp } from './notes-app-process.js';
import { appOptions, runSource } from './source-run.js';

let counter = 0;
const uniqueId = (label: string): string => `${label}-${process.pid}-${++counter}`;
const signal = new AbortController().signal;

function typedEntry(id: string, fields: readonly Omit<Field, 'csn'>[]): ObjectEntry {
  const base = objectEntry({ type: 'note', keys: [{ scheme: 'dbus-id', value: id }] });
  const csn = nextCsn();
  return { ...base, fields: fields.map((field) => ({ ...field, csn }) as Field), changed: fields.map((f) => f.name) };
}

describe('dbus sink on the example app', () => {
  let dbus: DbusDaemon;
  let app: NotesApp;
  let data: string;
  const sinks: Sink[] = [];
  const sinkWith = async (extra: Record<string, unknown> = {}, address?: string): Promise<Sink> => {
    const options = appOptions(address ?? dbus.address, extra);
    const sink = await instantiate(dbusSink, options, createTestContext({ kind: 'sink' }));
    sinks.push(sink);
    return sink;
  };

  before(async () => {
    dbus = await startDbus();
    data = join(dbus.dir, 'notes');
    app = await startNotesApp(dbus.address, data);
  });
  after(async () => {
    for (const sink of sinks) await sink.close?.();
    await app?.stop();
    await dbus?.stop();
  });

  it('writes typed fields as D-Bus types, and a source reads the same fields back', async () => {
    const sink = await sinkWith();
    const id = uniqueId('typed');
    const fields: Omit<Field, 'csn'>[] = [
      { name: 'title', type: 'string', values: ['hello'] },
      { name: 'tags', type: 'string', values: ['a', 'b'] },
      { name: 'n', type: 'integer', values: [-9007199254740993n] },
      { name: 'price', type: 'decimal', values: ['12.5'] },
      { name: 'ok', type: 'boolean', values: [true] },
      { name: 'raw', type: 'binary', values: [Uint8Array.from([0, 255])] },
      { name: 'meta', type: 'json', values: [{ k: 'v', list: [1, 2] }] },
    ];
    const source = await runSource(dbus.address, new MemoryPluginState(), 'start');
    try {
      assert.deepEqual(await sink.apply([{ entry: typedEntry(id, fields), fields: fields.map((f) => f.name) }], signal), [
        { status: 'applied', localKey: id },
      ]);
      const got = await gdbusCall(dbus.address, 'Get', id);
      for (const part of [
        "'title': <'hello'>",
        "'tags': <['a', 'b']>",
        "'n': <int64 -9007199254740993>",
        "'price': <12.5>",
        "'ok': <true>",
        "'raw': <[byte 0x00, 0xff]>",
        "'meta': <{'k': <'v'>, 'list': <[<int64 1>, <int64 2>]>}>",
      ]) {
        assert.ok(got.includes(part), `${part} in ${got}`);
      }
      // A source with its own state is not this sink's partner: it publishes the write, and it round-trips.
      const change = await source.waitForUpsert(id);
      const sorted = [...fields].sort((a, b) => a.name.localeCompare(b.name));
      assert.deepEqual(change.fields, sorted);
    } finally {
      await source.stop();
    }
  });

  it('updates only the fields it is told to, keeping the others as the app has them', async () => {
    const sink = await sinkWith();
    const id = uniqueId('merge');
    await gdbusCall(dbus.address, 'Put', id, "{'title': <'t'>, 'local': <'kept'>, 'old': <'dropped'>}");
    const entry = typedEntry(id, [{ name: 'title', type: 'string', values: ['new title'] }]);
    const outcomes = await sink.apply([{ entry, fields: ['title', 'old'], localKey: id }], signal);
    assert.deepEqual(outcomes, [{ status: 'applied', localKey: id }]);
    const got = await gdbusCall(dbus.address, 'Get', id);
    assert.ok(got.includes("'title': <'new title'>") && got.includes("'local': <'kept'>"), got);
    assert.ok(!got.includes('old'), `the removed field is gone: ${got}`);
  });

  it('rejects what the app refuses with the D-Bus error name, and applies the rest', async () => {
    const sink = await sinkWith();
    const good = uniqueId('good');
    const badField = typedEntry(uniqueId('bad-field'), [{ name: 'bad name', type: 'string', values: ['x'] }]);
    const badId = typedEntry('bad id!', [{ name: 'title', type: 'string', values: ['x'] }]);
    const outcomes = await sink.apply(
      [
        { entry: badField, fields: ['bad name'] },
        { entry: badId, fields: ['title'] },
        { entry: typedEntry(good, [{ name: 'title', type: 'string', values: ['fine'] }]), fields: ['title'] },
      ],
      signal,
    );
    assert.equal(outcomes[0]?.status, 'rejected');
    assert.equal(rejection(outcomes[0]).code, 'org.pubsync.Notes.Error.InvalidField');
    assert.match(rejection(outcomes[0]).reason, /bad name/);
    assert.equal(rejection(outcomes[1]).code, 'org.pubsync.Notes.Error.InvalidId');
    assert.deepEqual(outcomes[2], { status: 'applied', localKey: good });
  });

  it('rejects with UnknownMethod when the configured method does not exist', async () => {
    const sink = await sinkWith({ methods: { put: 'Store' } });
    const entry = typedEntry(uniqueId('unknown'), [{ name: 'title', type: 'string', values: ['x'] }]);
    const [outcome] = await sink.apply([{ entry, fields: ['title'] }], signal);
    assert.equal(rejection(outcome).code, 'org.freedesktop.DBus.Error.UnknownMethod');
  });

  it('fails the call as not connected while the app is away, and applies once it is back', async () => {
    const sink = await sinkWith();
    const id = uniqueId('paused');
    const entry = typedEntry(id, [{ name: 'title', type: 'string', values: ['after return'] }]);
    await app.stop();
    try {
      await assert.rejects(sink.apply([{ entry, fields: ['title'] }], signal), (error) => {
        assert.ok(error instanceof NotConnectedError, `got ${String(error)}`);
        assert.equal(error.code, 'PUBSYNC_ERR_DBUS_UNAVAILABLE');
        assert.equal(error.details.dbusError, 'org.freedesktop.DBus.Error.ServiceUnknown');
        return true;
      });
    } finally {
      app = await startNotesApp(dbus.address, data);
    }
    assert.deepEqual(await sink.apply([{ entry, fields: ['title'] }], signal), [{ status: 'applied', localKey: id }]);
  });

  it('fails as not connected when the bus itself is unreachable', async () => {
    const sink = await sinkWith({}, `unix:path=${join(dbus.dir, 'no-such-bus.sock')}`);
    const entry = typedEntry(uniqueId('nobus'), [{ name: 'title', type: 'string', values: ['x'] }]);
    await assert.rejects(sink.apply([{ entry, fields: ['title'] }], signal), NotConnectedError);
  });
});

function rejection(outcome: ApplyOutcome | undefined): { code: string; reason: string } {
  assert.equal(outcome?.status, 'rejected', `expected a rejection, got ${JSON.stringify(outcome)}`);
  return outcome;
}
