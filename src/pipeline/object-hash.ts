import { createHash } from 'node:crypto';
import type { ObjectEntry } from '../format/model.js';
import type { ChangeAttachment, ChangeChild, ChangeField } from '../plugin-api/change.js';

/** The hash recorded for a part a sink was told to remove: no content hashes to it. */
export const ABSENT = '';

/**
 * Content hashes of the parts of an object, to work out which parts a change modified when the
 * source cannot say (CouchDB sends whole documents). Keys: field names, "child:<id>",
 * "attachment:<name>" — the same names the entry's `changed` list uses.
 */
export function hashParts(
  fields: readonly ChangeField[],
  children: readonly ChangeChild[],
  attachments: readonly ChangeAttachment[],
): Record<string, string> {
  const hashes: Record<string, string> = {};
  // A field with no values is a removed one, however the source reports it.
  for (const field of fields) hashes[field.name] = field.values.length === 0 ? ABSENT : fieldHash(field);
  for (const child of children) hashes[`child:${child.id}`] = childHash(child);
  for (const attachment of attachments) {
    hashes[`attachment:${attachment.name}`] = digest([attachment.contentType, sha256Hex(attachment.data)]);
  }
  return hashes;
}

/**
 * The hashes of the named parts of an entry as a sink is given them, equal to what hashParts
 * gives when the source of the same application reads them back: that is how an echo is known.
 * A named part the entry does not hold was removed.
 */
export function hashEntryParts(entry: ObjectEntry, parts: readonly string[]): Record<string, string> {
  const hashes: Record<string, string> = {};
  for (const part of parts) hashes[part] = ABSENT;
  for (const field of entry.fields) {
    if (field.name in hashes) hashes[field.name] = field.values.length === 0 ? ABSENT : fieldHash(field);
  }
  for (const child of entry.children) {
    if (`child:${child.id}` in hashes) hashes[`child:${child.id}`] = childHash(child);
  }
  for (const attachment of entry.attachments) {
    const part = `attachment:${attachment.name}`;
    if (part in hashes) hashes[part] = digest([attachment.contentType, attachment.sha256]);
  }
  return hashes;
}

/** The hash of a field's content as capture sees it (type and values), the one `SinkOperation.expected` holds. */
export function fieldHash(field: ChangeField): string {
  return digest([field.type, ...field.values.map(canonical)]);
}

function childHash(child: ChangeChild): string {
  return digest([child.type, ...child.fields.map((f) => digest([f.name, f.type, ...f.values.map(canonical)]))]);
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function digest(parts: readonly string[]): string {
  const hash = createHash('sha256');
  // Length-prefixed so that ["ab","c"] and ["a","bc"] differ.
  for (const part of parts) hash.update(`${part.length}:${part}`);
  return hash.digest('base64url').slice(0, 22);
}

function canonical(value: unknown): string {
  if (value instanceof Uint8Array) return `b:${Buffer.from(value).toString('base64')}`;
  if (typeof value === 'bigint') return `i:${value}`;
  if (typeof value === 'string') return `s:${value}`;
  return `j:${stableJson(value)}`;
}

/** JSON with sorted object keys, so that {a,b} and {b,a} hash alike. */
function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
