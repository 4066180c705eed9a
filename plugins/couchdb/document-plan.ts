import type { ApplyOutcome, Entry, ObjectEntry, Origin } from 'pubsync/plugin-api';
import { ABSENT_PART, ErrorCodes, partHash, type JsonValue } from 'pubsync/plugin-api';
import type { AttachmentStub, CouchDoc, CurrentDoc } from './couch-client.js';
import { fieldOf, fieldsOf, metaOf, propertyOf, type DocumentLayout, type PubsyncMeta } from './mapping.js';

/** What the sink will do with one operation, decided against the document's current revision. */
export type DocumentPlan =
  /** `left`: fields kept because the database changed them since the core saw them (ApplyOutcome). */
  | { readonly kind: 'write'; readonly doc: CouchDoc; readonly left?: readonly string[] }
  | { readonly kind: 'done'; readonly outcome: ApplyOutcome };

export interface PlanInput {
  readonly id: string;
  readonly entry: Entry;
  readonly fields: readonly string[];
  /** What the core expects each named part to hold (SinkOperation.expected). */
  readonly expected?: Readonly<Record<string, string>>;
  /** Only remove the named parts (SinkOperation.removeOnly). */
  readonly removeOnly?: boolean;
  readonly current: CurrentDoc;
  readonly layout: DocumentLayout;
  /** This daemon: recorded in the metadata as the last writer. */
  readonly writer: { readonly replica: number; readonly jid?: string };
}

/** The metadata as this sink writes it: PubsyncMeta plus attachment digests and the last writer. */
interface WrittenMeta extends PubsyncMeta {
  readonly attachments?: Readonly<Record<string, string>>;
  readonly writtenBy?: { readonly replica: number; readonly jid?: string };
}

/**
 * Builds the next revision of a document from its current one: only the fields the operation
 * names are written, and a field whose CSN in the document's metadata is newer than the entry's
 * is kept (per-field last writer wins, which is also how a 409 is merged after the re-read).
 * Everything else the document holds is left as it is.
 */
export function planDocument(input: PlanInput): DocumentPlan {
  const { id, entry, current, layout } = input;
  if (entry.deleted) {
    if (current.state !== 'live') return done({ status: 'skipped', reason: 'already deleted' });
    if (input.expected && heldBeyond(current.doc, layout, input.expected)) {
      // Changed in the database since the core last saw it: only what the core saw goes. The
      // change, once captured, is newer than this delete and brings the document back everywhere.
      const removal: ObjectEntry = { ...entry, deleted: false, fields: [], changed: [], children: [], attachments: [] };
      const plan = planDocument({ ...input, entry: removal, fields: Object.keys(input.expected).filter(isFieldPart), removeOnly: true });
      const expected = input.expected;
      const left = fieldsOf(current.doc, layout).filter((field) => partHash(field) !== (expected[field.name] ?? ABSENT_PART)).map((field) => field.name);
      return plan.kind === 'write' ? { ...plan, left } : plan;
    }
    const meta: WrittenMeta = { ...metaBase(entry.id, entry.csn, entry.origin, input.writer), fields: {} };
    return { kind: 'write', doc: { _id: id, _rev: current.rev, _deleted: true, [layout.metaField]: toJson(meta) } };
  }

  // The core saw the document with content that is gone: deleted in the database since. That
  // delete, once captured, is the newest change; writing now would bring the document back.
  if (current.state !== 'live' && Object.values(input.expected ?? {}).some((hash) => hash !== ABSENT_PART)) {
    return done({ status: 'skipped', reason: 'deleted in the database since the core last saw it' });
  }
  const base: CouchDoc = current.state === 'live' ? withoutVolatile(current.doc) : { _id: id };
  const before = metaOf(base, layout) as WrittenMeta | undefined;
  const sameObject = before?.id === entry.id;
  const fieldCsns: Record<string, string> = sameObject ? { ...before.fields } : {};
  const next: Record<string, unknown> = { ...base };
  const reserved = new Set([layout.typeField, layout.tagsField, layout.metaField]);

  for (const name of input.fields) {
    // child:<id> and attachment:<name> are parts of the object, not document properties.
    if (reserved.has(name) || name.startsWith('_') || name.startsWith('child:') || name.startsWith('attachment:')) continue;
    const field = entry.fields.find((candidate) => candidate.name === name);
    const theirs = fieldCsns[name];
    const ours = field?.csn ?? entry.csn;
    if (theirs !== undefined && theirs > ours) continue;
    // Changed in the database since the core last saw it: that change wins once captured.
    if (changedSince(base, name, input.expected?.[name])) continue;
    // A field that travels empty was removed: the property goes (an empty array would come back as a value).
    if (field && field.values.length > 0) next[name] = propertyOf(field);
    else delete next[name];
    fieldCsns[name] = ours;
  }
  // A removal leaves the document's type and tags as they are (the entry carries none).
  if (!input.removeOnly) {
    next[layout.typeField] = entry.type;
    if (entry.tags.length > 0) next[layout.tagsField] = [...entry.tags];
    else delete next[layout.tagsField];
  }

  const attachments = planAttachments(entry, input.fields, base, before);
  if ('outcome' in attachments) return done(attachments.outcome);
  if (Object.keys(attachments.stubs).length > 0) next['_attachments'] = attachments.stubs;
  else delete next['_attachments'];

  const meta: WrittenMeta = {
    ...metaBase(entry.id, entry.csn, entry.origin, input.writer),
    fields: fieldCsns,
    ...(Object.keys(attachments.digests).length > 0 ? { attachments: attachments.digests } : {}),
  };
  next[layout.metaField] = toJson(meta);

  if (current.state === 'live' && sameContent(next, base)) return done({ status: 'skipped', reason: 'unchanged' });
  if (current.state === 'live') next['_rev'] = current.rev;
  else delete next['_rev'];
  return { kind: 'write', doc: next as CouchDoc };
}

/**
 * The document's attachments after the operation: those the operation names come from the entry
 * (or go, when the entry does not carry them); the others stay as the document has them.
 */
function planAttachments(
  entry: Extract<Entry, { deleted: false }>,
  fields: readonly string[],
  base: CouchDoc,
  before: WrittenMeta | undefined,
): { stubs: Record<string, AttachmentStub>; digests: Record<string, string> } | { outcome: ApplyOutcome } {
  const named = new Set(fields.filter((part) => part.startsWith('attachment:')).map((part) => part.slice('attachment:'.length)));
  const stubs: Record<string, AttachmentStub> = {};
  const digests: Record<string, string> = {};
  for (const [name, stub] of Object.entries(base._attachments ?? {})) {
    if (named.has(name)) continue;
    stubs[name] = stub;
    const digest = before?.attachments?.[name];
    if (digest !== undefined) digests[name] = digest;
  }
  for (const attachment of entry.attachments) {
    if (!named.has(attachment.name)) continue;
    const existing = base._attachments?.[attachment.name];
    const unchanged = existing !== undefined && before?.attachments?.[attachment.name] === attachment.sha256;
    if (unchanged) stubs[attachment.name] = existing;
    else if (attachment.data) {
      stubs[attachment.name] = {
        content_type: attachment.contentType,
        data: Buffer.from(attachment.data).toString('base64'),
      };
    } else {
      return {
        outcome: {
          status: 'rejected',
          code: ErrorCodes.COUCHDB_ATTACHMENT_BY_REFERENCE,
          reason: `attachment ${attachment.name} (${attachment.length} bytes) came by reference (${attachment.href ?? 'no href'}); its bytes were not fetched (no XMPP transport resolves references here): raise the daemon's inline attachment limit`,
          details: { attachment: attachment.name, length: attachment.length, sha256: attachment.sha256 },
        },
      };
    }
    digests[attachment.name] = attachment.sha256;
  }
  return { stubs, digests };
}

function metaBase(id: string, csn: string, origin: Origin, writer: PlanInput['writer']): Omit<WrittenMeta, 'fields'> {
  return { id, csn, origin: { jid: origin.jid, replica: origin.replica }, writtenBy: { ...writer } };
}

function changedSince(doc: CouchDoc, name: string, expected: string | undefined): boolean {
  if (expected === undefined) return false;
  const value = (doc as Record<string, unknown>)[name];
  const held = value === undefined ? ABSENT_PART : partHash(fieldOf(name, value as JsonValue));
  return held !== expected;
}

/** Whether a document holds a field other than the core expected (SinkOperation.expected of a delete). */
function heldBeyond(doc: CouchDoc, layout: DocumentLayout, expected: Readonly<Record<string, string>>): boolean {
  const held = fieldsOf(doc, layout);
  const names = new Set(held.map((field) => field.name));
  return (
    held.some((field) => partHash(field) !== (expected[field.name] ?? ABSENT_PART)) ||
    Object.entries(expected).some(([name, hash]) => isFieldPart(name) && !names.has(name) && hash !== ABSENT_PART)
  );
}

function isFieldPart(part: string): boolean {
  return !part.startsWith('child:') && !part.startsWith('attachment:');
}

/** Properties CouchDB adds on read that are not part of the document's content. */
function withoutVolatile(doc: CouchDoc): CouchDoc {
  const copy: Record<string, unknown> = { ...doc };
  delete copy['_conflicts'];
  delete copy['_revisions'];
  delete copy['_revs_info'];
  delete copy['_deleted_conflicts'];
  return copy as CouchDoc;
}

function sameContent(a: Readonly<Record<string, unknown>>, b: Readonly<Record<string, unknown>>): boolean {
  const { _rev: _a, ...restA } = a;
  const { _rev: _b, ...restB } = b;
  return stableJson(restA) === stableJson(restB);
}

function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    typeof inner === 'object' && inner !== null && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)))
      : inner,
  );
}

function toJson(meta: WrittenMeta): Record<string, unknown> {
  return JSON.parse(JSON.stringify(meta)) as Record<string, unknown>;
}

function done(outcome: ApplyOutcome): DocumentPlan {
  return { kind: 'done', outcome };
}
