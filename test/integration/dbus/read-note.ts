import type { ObjectState } from 'pubsync/testing';
import { AppMethods } from '../../../plugins/dbus/app-methods.js';
import { dbusOptions } from '../../../plugins/dbus/config.js';
import { connectBus } from '../../../plugins/dbus/dbus-client.js';
import { APP } from './notes-app-process.js';

/** A note as the app holds it, fetched with Get, as field name to values as text. */
export async function readNote(address: string, id: string): Promise<ObjectState | undefined> {
  const connection = await connectBus(address, 10_000);
  try {
    const options = dbusOptions.parse({ bus: address, service: APP.service, objectPath: APP.path, interface: APP.iface });
    const fields = await new AppMethods(connection, options).get(id);
    if (fields === undefined) return undefined;
    return Object.fromEntries(fields.map((field) => [field.name, field.values.map(textOf)]));
  } finally {
    connection.close();
  }
}

function textOf(value: unknown): string {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}
