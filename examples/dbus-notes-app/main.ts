import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { NameFlag, RequestNameReply, sessionBus, systemBus, type MessageBus } from 'dbus-next';
import { NotesInterface } from './notes-interface.js';
import { NotesStore } from './notes-store.js';

/**
 * The example notes app: owns a well-known name on a bus and serves org.pubsync.Notes.
 *
 *   node --import tsx examples/dbus-notes-app/main.ts --bus ADDRESS --data DIR
 *
 * Prints `ready <name> <unique name>` on stdout once the name is owned; SIGTERM/SIGINT stop it.
 */
const usage =
  'usage: main.ts --data DIR [--bus session|system|ADDRESS] [--name org.pubsync.Notes] ' +
  '[--path /org/pubsync/Notes] [--type note] [--no-signals] [--signal-fields] [--count-calls]';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      bus: { type: 'string', default: 'session' },
      data: { type: 'string' },
      name: { type: 'string', default: 'org.pubsync.Notes' },
      path: { type: 'string', default: '/org/pubsync/Notes' },
      type: { type: 'string', default: 'note' },
      'no-signals': { type: 'boolean', default: false },
      'signal-fields': { type: 'boolean', default: false },
      'count-calls': { type: 'boolean', default: false },
    },
  });
  if (values.data === undefined) throw new Error(`--data is required\n${usage}`);
  const store = await NotesStore.open(resolve(values.data));
  const bus = await connect(values.bus);
  const notes = new NotesInterface(values.name, store, {
    objectType: values.type,
    signals: !values['no-signals'],
    fieldSignals: values['signal-fields'],
    countCalls: values['count-calls'],
  });
  bus.export(values.path, notes);
  const reply = await bus.requestName(values.name, NameFlag.DO_NOT_QUEUE);
  if (reply !== RequestNameReply.PRIMARY_OWNER) {
    bus.disconnect();
    throw new Error(`the name ${values.name} is already owned on ${values.bus}`);
  }
  const stop = (): void => {
    bus.disconnect();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.stdout.write(`ready ${values.name} ${String((bus as MessageBus & { name: string }).name)}\n`);
}

function connect(bus: string): Promise<MessageBus> {
  return new Promise((resolvePromise, reject) => {
    const connection =
      bus === 'system' ? systemBus() : bus === 'session' ? sessionBus() : sessionBus({ busAddress: bus });
    connection.on('error', (error: unknown) => {
      // Losing the bus ends the app: it cannot serve anyone without it.
      console.error(`notes app: bus ${bus}: ${String(error)}`);
      process.exit(1);
    });
    connection.once('connect', () => resolvePromise(connection));
    setTimeout(() => reject(new Error(`no connection to bus ${bus} after 10 s`)), 10_000).unref();
  });
}

main().catch((error: unknown) => {
  console.error(`notes app: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(2);
});
