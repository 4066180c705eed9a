import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import type { MessageBus } from 'dbus-next';
import { connectDbus, startDbus, subscribeSignals, type DbusDaemon } from '../../harness/dbus.js';
import { APP, dbusSendCall, gdbusCall, startNotesApp, type NotesApp } from './notes-app-process.js';

/** The example notes app, driven only through the stock D-Bus clients (gdbus, dbus-send). */
describe('example dbus-notes-app', () => {
  let dbus: DbusDaemon;
  let app: NotesApp;
  let listener: MessageBus;
  let data: string;

  before(async () => {
    dbus = await startDbus();
    data = join(dbus.dir, 'notes-data');
    app = await startNotesApp(dbus.address, data);
    listener = await connectDbus(dbus.address);
  });
  after(async () => {
    listener?.disconnect();
    await app?.stop();
    await dbus?.stop();
  });

  it('stores a note put with gdbus, returns its revision, and gives it back typed', async () => {
    const signals = await subscribeSignals(listener, { interface: APP.iface, member: 'ObjectChanged' });
    const revision = await gdbusCall(
      dbus.address,
      'Put',
      'n1',
      "{'title': <'hello'>, 'tags': <['a', 'b']>, 'n': <int64 42>, 'raw': <[byte 1, 2]>, 'ok': <true>, 'm': <{'k': <1.5>}>}",
    );
    assert.match(revision, /^\(int64 \d+,\)$/);
    const signal = await signals.next();
    assert.deepEqual(signal.body, ['note', 'n1', 'put']);
    assert.equal(signal.sender, app.uniqueName, 'the app itself signals its changes');
    await signals.close();

    const got = await gdbusCall(dbus.address, 'Get', 'n1');
    // GVariant text lists dict keys in the app's order; check each typed value is there.
    for (const part of ["'title': <'hello'>", "'tags': <['a', 'b']>", "'n': <int64 42>", "'raw': <[byte 0x01, 0x02]>", "'ok': <true>", "'m': <{'k': <1.5>}>"]) {
      assert.ok(got.includes(part), `${part} in ${got}`);
    }
    assert.match(await gdbusCall(dbus.address, 'List'), /'n1'/);
  });

  it('answers dbus-send too, and replaces a note whole on Put', async () => {
    await gdbusCall(dbus.address, 'Put', 'n2', "{'title': <'first'>, 'extra': <'x'>}");
    await gdbusCall(dbus.address, 'Put', 'n2', "{'title': <'second'>}");
    const reply = await dbusSendCall(dbus.address, 'Get', 'string:n2');
    assert.match(reply, /string "title"\s+variant\s+string "second"/);
    assert.doesNotMatch(reply, /extra/);
  });

  it('deletes, signals the delete, and then reports NotFound by its D-Bus error name', async () => {
    await gdbusCall(dbus.address, 'Put', 'gone', "{'title': <'doomed'>}");
    const signals = await subscribeSignals(listener, { interface: APP.iface, member: 'ObjectChanged' });
    await dbusSendCall(dbus.address, 'Delete', 'string:gone');
    assert.deepEqual((await signals.next()).body, ['note', 'gone', 'delete']);
    await signals.close();
    await assert.rejects(gdbusCall(dbus.address, 'Get', 'gone'), /org\.pubsync\.Notes\.Error\.NotFound/);
    await assert.rejects(gdbusCall(dbus.address, 'Delete', 'gone'), /org\.pubsync\.Notes\.Error\.NotFound/);
  });

  it('refuses a bad id and a bad field name with its own error names', async () => {
    await assert.rejects(gdbusCall(dbus.address, 'Put', 'bad id', '{}'), /org\.pubsync\.Notes\.Error\.InvalidId/);
    await assert.rejects(
      gdbusCall(dbus.address, 'Put', 'fine', "{'bad name': <'x'>}"),
      /org\.pubsync\.Notes\.Error\.InvalidField/,
    );
  });

  it('keeps its notes on disk across a restart', async () => {
    await gdbusCall(dbus.address, 'Put', 'kept', "{'title': <'still here'>, 'n': <int64 -9007199254740993>}");
    const file = JSON.parse(await readFile(join(data, 'kept.note.json'), 'utf8')) as { fields: Record<string, unknown> };
    assert.deepEqual(Object.keys(file.fields).sort(), ['n', 'title'], 'the note is in its own file');
    await app.stop();
    app = await startNotesApp(dbus.address, data);
    const got = await gdbusCall(dbus.address, 'Get', 'kept');
    assert.ok(got.includes("'title': <'still here'>") && got.includes("'n': <int64 -9007199254740993>"), got);
  });
});
