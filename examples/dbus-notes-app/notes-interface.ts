import { DBusError, interface as dbusInterface, type Variant } from 'dbus-next';
import type { NotesStore } from './notes-store.js';
import { loadVariant, storeVariant } from './stored-value.js';

/** The error names callers see; they are part of the app's D-Bus API. */
export const NotesErrors = {
  NotFound: 'org.pubsync.Notes.Error.NotFound',
  InvalidId: 'org.pubsync.Notes.Error.InvalidId',
  InvalidField: 'org.pubsync.Notes.Error.InvalidField',
} as const;

const ID = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,199}$/;
const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const MAX_FIELDS = 200;

export interface NotesInterfaceOptions {
  /** The value of the signal's first argument. */
  readonly objectType: string;
  /** False makes the app change notes silently (no ObjectChanged), as an app that forgot to signal would. */
  readonly signals: boolean;
  /** True adds ObjectUpdated(type, id, op, fields) after every change: the signal carries the note. */
  readonly fieldSignals: boolean;
  /** True serves Stats(): how often each method was called, so a test can count a client's calls. */
  readonly countCalls?: boolean;
}

/**
 * org.pubsync.Notes: List, Get, Put (replaces the note's fields whole) and Delete, and an
 * ObjectChanged(type, id, op) signal after every change. Members are declared with
 * configureMembers because dbus-next's decorators crash under TypeScript. With fieldSignals it also
 * emits ObjectUpdated(type, id, op, fields), a signal that carries the note itself.
 */
export class NotesInterface extends dbusInterface.Interface {
  readonly #store: NotesStore;
  readonly #options: NotesInterfaceOptions;
  readonly #calls = new Map<string, bigint>();

  constructor(name: string, store: NotesStore, options: NotesInterfaceOptions) {
    super(name);
    this.#store = store;
    this.#options = options;
  }

  List(): string[] {
    this.#count('List');
    return this.#store.ids();
  }

  Get(id: string): Record<string, Variant> {
    this.#count('Get');
    const note = this.#store.get(checkId(id));
    if (note === undefined) throw new DBusError(NotesErrors.NotFound, `no note ${JSON.stringify(id)}`);
    return Object.fromEntries(Object.entries(note.fields).map(([name, field]) => [name, loadVariant(field)]));
  }

  async Put(id: string, fields: Record<string, Variant>): Promise<bigint> {
    this.#count('Put');
    checkId(id);
    const names = Object.keys(fields);
    if (names.length > MAX_FIELDS) throw new DBusError(NotesErrors.InvalidField, `more than ${MAX_FIELDS} fields`);
    const bad = names.find((name) => !FIELD_NAME.test(name));
    if (bad !== undefined) {
      throw new DBusError(NotesErrors.InvalidField, `field name ${JSON.stringify(bad)} is not [A-Za-z_][A-Za-z0-9_]*`);
    }
    const stored = Object.fromEntries(names.map((name) => [name, storeVariant(fields[name] as Variant)]));
    const revision = await this.#store.put(id, stored);
    this.#changed(id, 'put', fields);
    return BigInt(revision);
  }

  async Delete(id: string): Promise<void> {
    this.#count('Delete');
    if (!(await this.#store.delete(checkId(id)))) {
      throw new DBusError(NotesErrors.NotFound, `no note ${JSON.stringify(id)}`);
    }
    this.#changed(id, 'delete', {});
  }

  /** Calls per method since start (failed calls included); only with countCalls. */
  Stats(): Record<string, bigint> {
    if (!this.#options.countCalls) {
      throw new DBusError('org.freedesktop.DBus.Error.UnknownMethod', 'Stats needs the app started with --count-calls');
    }
    return Object.fromEntries(this.#calls);
  }

  // Calling a configured signal method emits what it returns as the signal body.
  ObjectChanged(type: string, id: string, op: string): [string, string, string] {
    return [type, id, op];
  }

  ObjectUpdated(type: string, id: string, op: string, fields: Record<string, Variant>): [string, string, string, Record<string, Variant>] {
    return [type, id, op, fields];
  }

  #count(method: string): void {
    if (this.#options.countCalls) this.#calls.set(method, (this.#calls.get(method) ?? 0n) + 1n);
  }

  #changed(id: string, op: 'put' | 'delete', fields: Record<string, Variant>): void {
    if (this.#options.signals) this.ObjectChanged(this.#options.objectType, id, op);
    if (this.#options.fieldSignals) this.ObjectUpdated(this.#options.objectType, id, op, fields);
  }
}

NotesInterface.configureMembers({
  methods: {
    List: { inSignature: '', outSignature: 'as' },
    Get: { inSignature: 's', outSignature: 'a{sv}' },
    Put: { inSignature: 'sa{sv}', outSignature: 'x' },
    Delete: { inSignature: 's', outSignature: '' },
    Stats: { inSignature: '', outSignature: 'a{st}' },
  },
  signals: { ObjectChanged: { signature: 'sss' }, ObjectUpdated: { signature: 'sssa{sv}' } },
});

function checkId(id: string): string {
  if (!ID.test(id)) {
    throw new DBusError(NotesErrors.InvalidId, `note id ${JSON.stringify(id)} is not [A-Za-z0-9][A-Za-z0-9._:@-]*`);
  }
  return id;
}
