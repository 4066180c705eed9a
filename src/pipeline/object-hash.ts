import { createHash } from 'node:crypto';
import type { ChangeAttachment, ChangeChild, ChangeField } from '../plugin-api/change.js';

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
  for (const field of fields) hashes[field.name] = digest([field.type, ...field.values.map(canonical)]);
  for (const child of children) {
    hashes[`child:${child.id}`] = digest([
      child.type,
      ...child.fields.map((f) => digest([f.name, f.type, ...f.values.map(canonical)])),
    ]);
  }
  for (const attachment of attachments) {
    hashes[`attachment:${attachment.name}`] = digest([attachment.contentType, sha256Hex(attachment.data)]);
  }
  return hashes;
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
