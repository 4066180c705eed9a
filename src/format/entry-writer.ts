/**
 * Serializes entries and batches into the Atom-based format of docs/format.md. Output is
 * compact (no indentation) and built as strings. Input is validated on the way, so that
 * whatever is written is accepted by the parser; invalid input is a record error
 * (PUBSYNC_ERR_FORMAT_INVALID) naming the entry and the part.
 */
import { createHash } from 'node:crypto';
import { ErrorCodes } from '../errors/codes.js';
import { isSyncError, RecordError, type SyncError } from '../errors/sync-error.js';
import { encodeBase64 } from './base64.js';
import { csnTimestamp, isCsn, MAX_CSN_REPLICA } from './csn.js';
import { encodeEscaped, textElement } from './escaped-text.js';
import type { Attachment, Batch, Child, Entry, Field, ObjectEntry, Origin, SourceKey, TombstoneEntry } from './model.js';
import { ATOM_NS, BASE64_ENCODING, CONTENT_TYPE, PUBSYNC_NS, TAG_SCHEME, TOMBSTONE_NS, TYPE_SCHEME } from './namespaces.js';
import { isSha256Hex, isUrnUuid, MAX_SEQ } from './syntax.js';
import { isFieldType, ValueProblem, valueElement } from './value-codec.js';
import { escapeAttr, escapeText, isXmlSafe } from './xml-chars.js';
import { xmppUri } from './xmpp-uri.js';

const ENTRY_ROOT_NS = ` xmlns="${ATOM_NS}" xmlns:ps="${PUBSYNC_NS}"`;
const TOMBSTONE_ROOT_NS = ` xmlns="${ATOM_NS}" xmlns:at="${TOMBSTONE_NS}"`;
const FEED_ROOT_NS = ` xmlns="${ATOM_NS}" xmlns:at="${TOMBSTONE_NS}" xmlns:ps="${PUBSYNC_NS}"`;
const OBJECT_OPEN = `<object xmlns="${PUBSYNC_NS}"`;
/** atom:updated of a feed without entries: nothing better is known. */
const EPOCH = '1970-01-01T00:00:00.000000Z';

/** One entry or tombstone as a standalone element (a PubSub item payload). */
export function serializeEntry(entry: Entry): string {
  try {
    return entryXml(entry, true);
  } catch (error) {
    throw asRecordError(error, `entry ${describeId(entry)}`);
  }
}

/** A batch as one atom:feed. */
export function serializeFeed(batch: Batch): string {
  try {
    return feedXml(batch);
  } catch (error) {
    throw asRecordError(error, 'batch');
  }
}

function feedXml(batch: Batch): string {
  const { origin, firstSeq, lastSeq, entries } = batch;
  checkOrigin(origin, 'batch origin');
  checkSeq(firstSeq, 'firstSeq');
  checkSeq(lastSeq, 'lastSeq');
  if (firstSeq > lastSeq) throw invalid('firstSeq', `${firstSeq} is after lastSeq ${lastSeq}`);
  checkArray(entries, 'entries');
  let body = '';
  let latest = '';
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i] as Entry;
    try {
      body += entryXml(entry, false);
    } catch (error) {
      throw asRecordError(error, `batch entry ${i + 1} ${describeId(entry)}`);
    }
    if (entry.csn > latest) latest = entry.csn;
  }
  const range = `${firstSeq}-${lastSeq}`;
  return (
    `<feed${FEED_ROOT_NS}>` +
    `<id>${escapeText(xmppUri(origin.jid))}#batch-${range}</id>` +
    `<title>${escapeText(`pubsync batch ${range} from ${origin.jid}`)}</title>` +
    `<updated>${latest === '' ? EPOCH : csnTimestamp(latest)}</updated>` +
    personXml('author', origin) +
    `<ps:batch first-seq="${firstSeq}" last-seq="${lastSeq}">` +
    `<ps:origin jid="${escapeAttr(origin.jid)}" replica="${origin.replica}"/></ps:batch>` +
    body +
    '</feed>'
  );
}

function entryXml(entry: Entry, root: boolean): string {
  if (typeof entry !== 'object' || entry === null) throw invalid('entry', 'expected an entry object');
  checkIdentity(entry);
  return entry.deleted === true ? tombstoneXml(entry, root) : objectEntryXml(entry, root);
}

function objectEntryXml(entry: ObjectEntry, root: boolean): string {
  if (entry.deleted !== false) throw invalid('deleted', 'must be true or false');
  return (
    `<entry${root ? ENTRY_ROOT_NS : ''}>` +
    `<id>${entry.id}</id>` +
    titleXml(entry) +
    `<updated>${csnTimestamp(entry.csn)}</updated>` +
    personXml('author', entry.origin) +
    `<category scheme="${TYPE_SCHEME}" term="${escapeAttr(entry.type)}"/>` +
    entry.tags.map(tagCategoryXml).join('') +
    `<content type="${CONTENT_TYPE}">` +
    objectOpenXml(entry) +
    listXml(entry.fields, (field) => fieldXml(field, 'entry')) +
    listXml(entry.changed, (name, i) => textElement('changed', checkString(name, `changed[${i}]`))) +
    listXml(entry.children, childXml) +
    listXml(entry.attachments, attachmentXml) +
    '</object></content></entry>'
  );
}

function tombstoneXml(entry: TombstoneEntry, root: boolean): string {
  return (
    `<at:deleted-entry${root ? TOMBSTONE_ROOT_NS : ''} ref="${entry.id}" when="${csnTimestamp(entry.csn)}">` +
    personXml('at:by', entry.origin) +
    objectOpenXml(entry) +
    listXml(entry.tags, (tag, i) => textElement('tag', checkString(tag, `tags[${i}]`))) +
    '</object></at:deleted-entry>'
  );
}

/** `<object …><origin/><key/>…` : the identity and version part shared by entries and tombstones. */
function objectOpenXml(entry: Entry): string {
  const tombstone = entry.deleted || entry.tombstone === undefined ? '' : ` tombstone="${entry.tombstone}"`;
  return (
    `${OBJECT_OPEN} type="${escapeAttr(entry.type)}" csn="${entry.csn}"${tombstone}>` +
    `<origin jid="${escapeAttr(entry.origin.jid)}" replica="${entry.origin.replica}"/>` +
    listXml(entry.keys, keyXml)
  );
}

function titleXml(entry: ObjectEntry): string {
  const { title } = entry;
  // Atom requires a title: without one, a generated title is marked so readers do not take it as data.
  if (title === undefined) return `<title ps:generated="true">${escapeText(`${entry.type} ${entry.id}`)}</title>`;
  checkString(title, 'title');
  if (isXmlSafe(title)) return `<title>${escapeText(title)}</title>`;
  return `<title ps:enc="${BASE64_ENCODING}">${encodeEscaped(title)}</title>`;
}

function tagCategoryXml(tag: string, i: number): string {
  checkString(tag, `tags[${i}]`);
  if (isXmlSafe(tag)) return `<category scheme="${TAG_SCHEME}" term="${escapeAttr(tag)}"/>`;
  return `<category scheme="${TAG_SCHEME}" term="${encodeEscaped(tag)}" ps:enc="${BASE64_ENCODING}"/>`;
}

function personXml(tag: string, origin: Origin): string {
  return `<${tag}><name>${escapeText(origin.jid)}</name><uri>${escapeText(xmppUri(origin.jid))}</uri></${tag}>`;
}

function keyXml(key: SourceKey, i: number): string {
  checkToken(key.scheme, `keys[${i}].scheme`);
  const value = checkString(key.value, `keys[${i}].value`);
  const scheme = `scheme="${escapeAttr(key.scheme)}"`;
  if (value === '') return `<key ${scheme}/>`;
  if (isXmlSafe(value)) return `<key ${scheme}>${escapeText(value)}</key>`;
  return `<key ${scheme} enc="${BASE64_ENCODING}">${encodeEscaped(value)}</key>`;
}

function fieldXml(field: Field, owner: string): string {
  const where = `${owner} field ${describeName(field.name)}`;
  if (!isFieldType(field.type)) throw invalid(where, `unknown type ${JSON.stringify(String(field.type))}`);
  checkCsn(field.csn, `${where} csn`);
  checkString(field.name, `${where} name`);
  const values = checkArray<unknown>(field.values, `${where} values`);
  let xml = `<field type="${field.type}" csn="${field.csn}">${textElement('name', field.name)}`;
  for (let i = 0; i < values.length; i++) {
    try {
      xml += valueElement(field.type, values[i]);
    } catch (error) {
      if (error instanceof ValueProblem) throw invalid(`${where} value ${i + 1}`, error.message);
      throw error;
    }
  }
  return `${xml}</field>`;
}

function childXml(child: Child, i: number): string {
  const where = `children[${i}]`;
  checkString(child.id, `${where} id`);
  checkToken(child.type, `${where} type`);
  checkCsn(child.csn, `${where} csn`);
  return (
    `<child type="${escapeAttr(child.type)}" csn="${child.csn}">${textElement('id', child.id)}` +
    listXml(child.fields, (field) => fieldXml(field, `child ${describeName(child.id)}`)) +
    '</child>'
  );
}

function attachmentXml(attachment: Attachment, i: number): string {
  const where = `attachment ${describeName(attachment.name)}`;
  checkString(attachment.name, `attachments[${i}] name`);
  checkToken(attachment.contentType, `${where} contentType`);
  checkCsn(attachment.csn, `${where} csn`);
  const { length, sha256, data, href } = attachment;
  if (!Number.isSafeInteger(length) || length < 0) throw invalid(where, `length ${String(length)} is not a non-negative integer`);
  if (!isSha256Hex(sha256)) throw invalid(where, 'sha256 must be 64 lowercase hex digits');
  if ((data === undefined) === (href === undefined)) throw invalid(where, 'needs exactly one of data (inline) or href');
  let open =
    `<attachment content-type="${escapeAttr(attachment.contentType)}" length="${length}" sha256="${sha256}" csn="${attachment.csn}"`;
  if (href !== undefined) open += ` href="${escapeAttr(checkToken(href, `${where} href`))}"`;
  open += `>${textElement('name', attachment.name)}`;
  if (data === undefined) return `${open}</attachment>`;
  checkInlineData(data, attachment, where);
  return `${open}<data>${encodeBase64(data)}</data></attachment>`;
}

function checkInlineData(data: Uint8Array, attachment: Attachment, where: string): void {
  if (!(data instanceof Uint8Array)) throw invalid(where, 'data must be a Uint8Array');
  if (data.byteLength !== attachment.length) throw invalid(where, `length ${attachment.length} but data has ${data.byteLength} bytes`);
  if (createHash('sha256').update(data).digest('hex') !== attachment.sha256) throw invalid(where, 'sha256 does not match the data');
}

function checkIdentity(entry: Entry): void {
  if (!isUrnUuid(entry.id)) throw invalid('id', `${describeName(entry.id)} is not a urn:uuid`);
  checkOrigin(entry.origin, 'origin');
  checkToken(entry.type, 'type');
  checkCsn(entry.csn, 'csn');
  if (!entry.deleted && entry.tombstone !== undefined) {
    checkCsn(entry.tombstone, 'tombstone');
    // A revision older than the delete would be a dead object: that travels as a tombstone.
    if (entry.tombstone >= entry.csn) throw invalid('tombstone', 'must be older than the revision csn');
  }
  checkArray(entry.tags, 'tags');
  checkArray(entry.keys, 'keys');
}

function checkOrigin(origin: Origin, where: string): void {
  if (typeof origin !== 'object' || origin === null) throw invalid(where, 'expected { jid, replica }');
  checkToken(origin.jid, `${where} jid`);
  const { replica } = origin;
  if (!Number.isInteger(replica) || replica < 0 || replica > MAX_CSN_REPLICA) {
    throw invalid(where, `replica ${String(replica)} is outside 0..${MAX_CSN_REPLICA}`);
  }
}

function checkSeq(seq: bigint, where: string): void {
  if (typeof seq !== 'bigint' || seq < 0n || seq > MAX_SEQ) throw invalid(where, 'must be a bigint in 0..2^64-1');
}

function checkCsn(csn: string, where: string): void {
  if (!isCsn(csn)) throw invalid(where, `${describeName(csn)} is not a CSN`);
}

function checkString(value: string, where: string): string {
  if (typeof value !== 'string') throw invalid(where, 'expected a string');
  return value;
}

/** Identifier-like strings are never escaped: they must be non-empty XML-safe text. */
function checkToken(value: string, where: string): string {
  if (typeof value !== 'string' || value === '' || !isXmlSafe(value)) {
    throw invalid(where, 'must be a non-empty string of XML characters');
  }
  return value;
}

function checkArray<T>(value: readonly T[], where: string): readonly T[] {
  if (!Array.isArray(value)) throw invalid(where, 'expected an array');
  return value;
}

function listXml<T>(items: readonly T[], write: (item: T, index: number) => string): string {
  let xml = '';
  for (let i = 0; i < items.length; i++) xml += write(items[i] as T, i);
  return xml;
}

function describeId(entry: unknown): string {
  const id: unknown = typeof entry === 'object' && entry !== null ? (entry as { id?: unknown }).id : undefined;
  return typeof id === 'string' ? describeName(id) : '(no id)';
}

function describeName(name: unknown): string {
  if (typeof name !== 'string') return typeof name;
  return JSON.stringify(name.length > 60 ? `${name.slice(0, 60)}…` : name);
}

/** Internal: where and why the input is invalid; the public functions add the entry and wrap it. */
class WriteProblem extends Error {
  constructor(readonly where: string, why: string) {
    super(`${where}: ${why}`);
  }
}

function invalid(where: string, why: string): WriteProblem {
  return new WriteProblem(where, why);
}

/**
 * Anything thrown while writing becomes a record error about `subject`, including TypeErrors
 * from malformed input of untyped callers (a missing array, a null field).
 */
function asRecordError(error: unknown, subject: string): SyncError {
  if (isSyncError(error)) return error;
  const where = error instanceof WriteProblem ? { where: error.where } : {};
  const message = error instanceof Error ? error.message : String(error);
  return new RecordError(ErrorCodes.FORMAT_INVALID, `cannot serialize ${subject}: ${message}`, {
    details: { subject, ...where },
    ...(error instanceof WriteProblem ? {} : { cause: error }),
  });
}
