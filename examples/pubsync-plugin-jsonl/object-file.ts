import { randomUUID } from 'node:crypto';
import { rename, writeFile } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import type { ChangeField, Field, JsonValue } from 'pubsync/plugin-api';

/**
 * The directory's format: one `<id>.json` file per object, written by any application:
 *
 *   { "type": "note", "title": "Ada", "fields": { "name": "Ada", "tags": ["a", "b"] } }
 *
 * `id` (a urn:uuid) is present when pubsync wrote the file. Field values are JSON scalars or
 * arrays of them; their JSON type decides the field type.
 */
export interface ObjectFile {
  readonly id?: string;
  readonly type?: string;
  readonly title?: string;
  readonly fields: Readonly<Record<string, JsonValue>>;
}

/** The key scheme of objects in a directory: the file name without `.json`. */
export const KEY_SCHEME = 'jsonl-file';

const FILE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
const UUID_URN = /^urn:uuid:([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i;

export function isFileId(id: string): boolean {
  return FILE_ID.test(id);
}

export function objectPath(directory: string, id: string): string {
  return join(directory, `${id}.json`);
}

/** The object id of a directory entry; undefined for anything else (dotfiles, temp files, the journal). */
export function idOfFileName(name: string): string | undefined {
  if (!name.endsWith('.json')) return undefined;
  const id = name.slice(0, -'.json'.length);
  return isFileId(id) ? id : undefined;
}

export function uuidOf(globalId: string): string | undefined {
  return UUID_URN.exec(globalId)?.[1]?.toLowerCase();
}

export function isUuidUrn(value: unknown): value is string {
  return typeof value === 'string' && UUID_URN.test(value);
}

/** undefined when the text is not an object file (yet: another application may be mid-write). */
export function parseObjectFile(text: string): ObjectFile | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(value) || !isRecord(value['fields'])) return undefined;
  const { id, type, title } = value;
  return {
    ...(typeof id === 'string' ? { id } : {}),
    ...(typeof type === 'string' ? { type } : {}),
    ...(typeof title === 'string' ? { title } : {}),
    fields: value['fields'] as Record<string, JsonValue>,
  };
}

/** File fields to typed change fields. Integers become integer fields, other numbers decimals. */
export function changeFieldsOf(file: ObjectFile): ChangeField[] {
  return Object.entries(file.fields).map(([name, raw]): ChangeField => {
    const values = Array.isArray(raw) ? raw : [raw];
    if (values.every((v): v is string => typeof v === 'string')) return { name, type: 'string', values };
    if (values.every((v): v is boolean => typeof v === 'boolean')) return { name, type: 'boolean', values };
    if (values.every((v): v is number => Number.isSafeInteger(v))) {
      return { name, type: 'integer', values: values.map(BigInt) };
    }
    if (values.every((v): v is number => typeof v === 'number')) {
      return { name, type: 'decimal', values: values.map(String) };
    }
    return { name, type: 'json', values };
  });
}

/** A field's values as JSON: one value as itself, several as an array. */
export function fileValueOf(field: Field): JsonValue {
  const values: JsonValue[] = field.values.map((value: unknown): JsonValue => {
    if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
    if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
    return value as JsonValue;
  });
  return values.length === 1 ? (values[0] ?? null) : values;
}

export function formatObjectFile(file: ObjectFile): string {
  return `${JSON.stringify(file, null, 2)}\n`;
}

/** Readers never see half a file: write a temp file (a dotfile, which scans skip), then rename. */
export async function writeFileAtomically(path: string, text: string): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${randomUUID().slice(0, 8)}.tmp`);
  await writeFile(temp, text, 'utf8');
  await rename(temp, path);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
