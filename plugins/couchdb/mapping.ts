import type { ChangeField, Field, JsonValue, ObjectEntry } from 'pubsync/plugin-api';
import type { CouchDoc } from './couch-client.js';

export const KEY_SCHEME = 'couchdb-id';

/** Which document properties carry pubsync's identity, type and tags. */
export interface DocumentLayout {
  readonly typeField: string;
  readonly tagsField: string;
  readonly metaField: string;
  readonly defaultType: string;
}

/**
 * pubsync's metadata, kept in one property of the document so that it keeps its identity across
 * systems: the global id, the CSN of the revision written, per-field CSNs and who wrote it.
 */
export interface PubsyncMeta {
  readonly id: string;
  readonly csn: string;
  readonly origin: { readonly jid: string; readonly replica: number };
  /** Field name to the CSN of the value written. */
  readonly fields: Readonly<Record<string, string>>;
}

/** The document's own properties as neutral fields: everything but `_*` and the layout's properties. */
export function fieldsOf(doc: CouchDoc, layout: DocumentLayout): ChangeField[] {
  const reserved = new Set([layout.typeField, layout.tagsField, layout.metaField]);
  const fields: ChangeField[] = [];
  for (const [name, value] of Object.entries(doc)) {
    if (name.startsWith('_') || reserved.has(name) || value === undefined) continue;
    fields.push(fieldOf(name, value as JsonValue));
  }
  return fields;
}

export function fieldOf(name: string, value: JsonValue): ChangeField {
  if (typeof value === 'string') return { name, type: 'string', values: [value] };
  if (typeof value === 'boolean') return { name, type: 'boolean', values: [value] };
  if (typeof value === 'number') {
    return Number.isSafeInteger(value)
      ? { name, type: 'integer', values: [BigInt(value)] }
      : { name, type: 'decimal', values: [String(value)] };
  }
  return { name, type: 'json', values: [value] };
}

/**
 * A field's value as a document property: a single value as itself, several as an array. Integers
 * beyond JavaScript's safe range stay exact as decimal text, since JSON numbers would round them.
 */
export function propertyOf(field: Field): JsonValue {
  const values = field.values.map((value) => valueToJson(field.type, value));
  return values.length === 1 ? (values[0] ?? null) : values;
}

function valueToJson(type: Field['type'], value: unknown): JsonValue {
  switch (type) {
    case 'integer': {
      const big = value as bigint;
      return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big.toString();
    }
    case 'decimal': {
      const number = Number(value as string);
      return Number.isFinite(number) && String(number) === value ? number : (value as string);
    }
    case 'binary':
      return Buffer.from(value as Uint8Array).toString('base64');
    default:
      return value as JsonValue;
  }
}

export function typeOf(doc: CouchDoc, layout: DocumentLayout): string {
  const type = doc[layout.typeField];
  return typeof type === 'string' && type.length > 0 ? type : layout.defaultType;
}

export function tagsOf(doc: CouchDoc, layout: DocumentLayout): string[] {
  const tags = doc[layout.tagsField];
  if (typeof tags === 'string') return [tags];
  return Array.isArray(tags) ? tags.filter((tag): tag is string => typeof tag === 'string') : [];
}

export function metaOf(doc: CouchDoc | undefined, layout: DocumentLayout): PubsyncMeta | undefined {
  const meta = doc?.[layout.metaField];
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) return undefined;
  const candidate = meta as Partial<PubsyncMeta>;
  if (typeof candidate.id !== 'string') return undefined;
  return {
    id: candidate.id,
    csn: typeof candidate.csn === 'string' ? candidate.csn : '',
    origin: candidate.origin ?? { jid: '', replica: 0 },
    fields: typeof candidate.fields === 'object' && candidate.fields !== null ? candidate.fields : {},
  };
}

/**
 * The document id an entry lands under: the key this sink gave it, else its CouchDB id from the
 * origin database (so a document keeps its _id across databases), else the UUID of its global id.
 */
export function docIdOf(entry: Pick<ObjectEntry, 'id' | 'keys'>, localKey: string | undefined): string {
  if (localKey !== undefined) return localKey;
  const couchKey = entry.keys.find((key) => key.scheme === KEY_SCHEME)?.value;
  if (couchKey !== undefined) return couchKey;
  const uuid = /^urn:uuid:(.+)$/i.exec(entry.id)?.[1];
  return uuid ?? entry.id;
}
