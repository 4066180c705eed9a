import { randomUUID } from 'node:crypto';
import type { Entry, Field, ObjectEntry, Origin, TombstoneEntry } from '../plugin-api/index.js';

/**
 * Builders for the entries a sink receives, with sane defaults, so a contract or unit test says
 * only what matters to it. Ids are urn:uuid, CSNs are OpenLDAP-form and increase with every
 * call, so a later revision always wins the merge.
 */

export const TEST_ORIGIN: Origin = { jid: 'peer@example.org', replica: 1 };

export interface CsnParts {
  /** Milliseconds since the epoch. */
  readonly time?: number;
  readonly counter?: number;
  readonly replica?: number;
  readonly mod?: number;
}

/** `YYYYmmddHHMMSS.uuuuuuZ#cccccc#rrr#mmmmmm`: UTC time, then counter, replica and mod in hex. */
export function formatCsn(parts: CsnParts = {}): string {
  const time = parts.time ?? Date.now();
  const micros = Math.round((time % 1000) * 1000);
  const stamp = new Date(time - (time % 1000)).toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const hex = (value: number, width: number): string => value.toString(16).padStart(width, '0');
  const tail = [hex(parts.counter ?? 0, 6), hex(parts.replica ?? 1, 3), hex(parts.mod ?? 0, 6)];
  return `${stamp}.${String(micros).padStart(6, '0')}Z#${tail.join('#')}`;
}

let last = { time: 0, counter: 0 };

/** A CSN later than every one this function returned before (the counter breaks ties within a millisecond). */
export function nextCsn(replica = TEST_ORIGIN.replica): string {
  const now = Date.now();
  last = now > last.time ? { time: now, counter: 0 } : { time: last.time, counter: last.counter + 1 };
  return formatCsn({ time: last.time, counter: last.counter, replica });
}

/** Fields by name: a string or a list of strings each, as string fields. */
export type StringFields = Readonly<Record<string, string | readonly string[]>>;

export function stringFields(fields: StringFields, csn: string): Field[] {
  return Object.entries(fields).map(([name, value]) => ({
    name,
    type: 'string',
    csn,
    values: typeof value === 'string' ? [value] : [...value],
  }));
}

export interface ObjectEntryInput extends Partial<Omit<ObjectEntry, 'deleted' | 'fields'>> {
  /** Typed fields, or plain strings by name. */
  readonly fields?: readonly Field[] | StringFields;
}

export function objectEntry(input: ObjectEntryInput = {}): ObjectEntry {
  const origin = input.origin ?? TEST_ORIGIN;
  const csn = input.csn ?? nextCsn(origin.replica);
  const fields = isFieldList(input.fields) ? [...input.fields] : stringFields(input.fields ?? {}, csn);
  return {
    id: input.id ?? `urn:uuid:${randomUUID()}`,
    origin,
    type: input.type ?? 'note',
    tags: input.tags ?? [],
    keys: input.keys ?? [],
    csn,
    deleted: false,
    ...(input.title === undefined ? {} : { title: input.title }),
    fields,
    changed: input.changed ?? fields.map((field) => field.name),
    children: input.children ?? [],
    attachments: input.attachments ?? [],
  };
}

export function tombstoneEntry(input: Partial<Omit<TombstoneEntry, 'deleted'>> = {}): TombstoneEntry {
  const origin = input.origin ?? TEST_ORIGIN;
  return {
    id: input.id ?? `urn:uuid:${randomUUID()}`,
    origin,
    type: input.type ?? 'note',
    tags: input.tags ?? [],
    keys: input.keys ?? [],
    csn: input.csn ?? nextCsn(origin.replica),
    deleted: true,
  };
}

/** The next revision of an object: same identity, a later CSN, the given fields replaced. */
export function reviseEntry(entry: ObjectEntry, fields: StringFields): ObjectEntry {
  const csn = nextCsn(entry.origin.replica);
  const replaced = stringFields(fields, csn);
  const names = new Set(replaced.map((field) => field.name));
  return {
    ...entry,
    csn,
    fields: [...entry.fields.filter((field) => !names.has(field.name)), ...replaced],
    changed: [...names],
  };
}

/** The delete of an object: its tombstone with a later CSN. */
export function tombstoneOf(entry: Entry): TombstoneEntry {
  return tombstoneEntry({ id: entry.id, origin: entry.origin, type: entry.type, tags: entry.tags, keys: entry.keys });
}

function isFieldList(fields: ObjectEntryInput['fields']): fields is readonly Field[] {
  return Array.isArray(fields);
}
