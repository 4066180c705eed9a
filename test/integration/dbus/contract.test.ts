import { join } from 'node:path';
import { after, before } from 'node:test';
import {
  instantiate,
  objectEntry,
  sinkContract,
  sourceContract,
  type ObjectState,
} from 'pubsync/testing';
import { startDbus, type DbusDaemon } from '../../harness/dbus.js';
import { dbusSink, dbusSource } from '../../../plugins/dbus/index.js';
import { gdbusCall, startNotesApp, type NotesApp } from './notes-app-process.js';
import { appOptions } from './source-run.js';
import { readNote } from './read-note.js';

/** The dbus source and sink through the shared contract suites, on one private bus and one notes app. */
let dbus: DbusDaemon;
let app: NotesApp;

before(async () => {
  dbus = await startDbus();
  app = await startNotesApp(dbus.address, join(dbus.dir, 'notes'));
});
after(async () => {
  await app?.stop();
  await dbus?.stop();
});

sourceContract('dbus', {
  async setup() {
    return {
      create: (context) => instantiate(dbusSource, appOptions(dbus.address), context),
      // As another client of the app would: gdbus, with GVariant text ('...' cannot hold a quote here).
      writeObject: async (id, fields) => {
        const dict = Object.entries(fields)
          .map(([name, value]) => `'${name}': <'${value}'>`)
          .join(', ');
        await gdbusCall(dbus.address, 'Put', id, `{${dict}}`);
      },
      deleteObject: async (id) => {
        await gdbusCall(dbus.address, 'Delete', id);
      },
    };
  },
});

sinkContract('dbus', {
  async setup() {
    return {
      create: (context) => instantiate(dbusSink, appOptions(dbus.address), context),
      read: (localKey): Promise<ObjectState | undefined> => readNote(dbus.address, localKey),
      // The app refuses field names with a space (org.pubsync.Notes.Error.InvalidField).
      makeRefused: () => objectEntry({ type: 'note', fields: { name: 'refused', 'bad name': 'x' } }),
    };
  },
});
