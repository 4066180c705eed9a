/**
 * Parses the format of docs/format.md back into the object model. Strict: unknown elements or
 * attributes, wrong order, bad lexical forms and inconsistent duplicates are refused. Every
 * failure is a record error (PUBSYNC_ERR_FORMAT_MALFORMED / _INVALID / _LIMIT) with the element
 * path and, for text input, line and column; nothing else is ever thrown.
 */
import { createHash } from 'node:crypto';
import { ErrorCodes } from '../errors/codes.js';
import { isSyncError, RecordError } from '../errors/sync-error.js';
import { decodeBase64 } from './base64.js';
import { csnTimestamp, isCsn } from './csn.js';
import { ElementCursor } from './element-cursor.js';
import { decodeEscaped } from './escaped-text.js';
import { resolveLimits, type ParseLimits } from './limits.js';
import type { Attachment, Batch, Child, Entry, Field, ObjectEntry, Origin, SourceKey, TombstoneEntry } from './model.js';
import { ATOM_NS, BASE64_ENCODING, CONTENT_TYPE, PUBSYNC_NS, TAG_SCHEME, TOMBSTONE_NS, TYPE_SCHEME } from './namespaces.js';
import { isRfc3339DateTime } from './rfc3339.js';
import { isSha256Hex, isUrnUuid, parseLength, parseReplica, parseSeq } from './syntax.js';
import { ESCAPABLE_TYPES, excerpt, isFieldType, parseValue, ValueProblem, type FieldValue } from './value-codec.js';
import { attrKey, type XmlElement } from './xml-element.js';
import { readXml } from './xml-reader.js';
import { xmppUri } from './xmpp-uri.js';

const PS_GENERATED = attrKey(PUBSYNC_NS, 'generated');
const PS_ENC = attrKey(PUBSYNC_NS, 'enc');

/** Parses one standalone entry (atom:entry) or tombstone (at:deleted-entry). */
export function parseEntry(xml: string, limits?: Partial<ParseLimits>): Entry {
  return guarded(() => {
    const resolved = resolveLimits(limits);
    return readEntry(new ElementCursor(readXml(xml, resolved), undefined, resolved));
  });
}

/** Parses an atom:feed into a batch. */
export function parseFeed(xml: string, limits?: Partial<ParseLimits>): Batch {
  return guarded(() => {
    const resolved = resolveLimits(limits);
    return readFeed(new ElementCursor(readXml(xml, resolved), undefined, resolved));
  });
}

/**
 * Reads an entry or tombstone from an element tree already parsed (readXml, or a tree built
 * from an XMPP stanza); the element is the atom:entry or at:deleted-entry itself.
 */
export function parseEntryElement(element: XmlElement, limits?: Partial<ParseLimits>): Entry {
  return guarded(() => readEntry(new ElementCursor(element, undefined, resolveLimits(limits))));
}

/** Reads a batch from an atom:feed element already parsed. */
export function parseFeedElement(element: XmlElement, limits?: Partial<ParseLimits>): Batch {
  return guarded(() => readFeed(new ElementCursor(element, undefined, resolveLimits(limits))));
}

function readEntry(cursor: ElementCursor): Entry {
  if (cursor.is(ATOM_NS, 'entry')) return readObjectEntry(cursor);
  if (cursor.is(TOMBSTONE_NS, 'deleted-entry')) return readTombstone(cursor);
  throw cursor.error(`expected atom:entry or at:deleted-entry, found ${cursor.name}`);
}

function readFeed(cursor: ElementCursor): Batch {
  if (!cursor.is(ATOM_NS, 'feed')) throw cursor.error(`expected atom:feed, found ${cursor.name}`);
  const children = cursor.allowAttributes().children();
  children.required(ATOM_NS, 'id').nonEmptyText();
  const title = children.required(ATOM_NS, 'title').allowAttributes('type');
  checkTextType(title);
  title.text();
  readAtomDate(children.required(ATOM_NS, 'updated'));
  const author = children.required(ATOM_NS, 'author');
  const { origin, firstSeq, lastSeq } = readBatchInfo(children.required(PUBSYNC_NS, 'batch'));
  checkPerson(author, origin);
  const entries: Entry[] = [];
  for (let child = children.next(); child !== undefined; child = children.next()) {
    if (entries.length === cursor.limits.maxEntries) {
      throw child.error(`more than ${cursor.limits.maxEntries} entries in the feed`, ErrorCodes.FORMAT_LIMIT);
    }
    if (!child.is(ATOM_NS, 'entry') && !child.is(TOMBSTONE_NS, 'deleted-entry')) {
      throw child.error(`unexpected element ${child.name} in atom:feed (entries come last)`);
    }
    entries.push(readEntry(child));
  }
  return { origin, firstSeq, lastSeq, entries };
}

function readBatchInfo(cursor: ElementCursor): Pick<Batch, 'origin' | 'firstSeq' | 'lastSeq'> {
  cursor.allowAttributes('first-seq', 'last-seq');
  const firstSeq = readSeq(cursor, 'first-seq');
  const lastSeq = readSeq(cursor, 'last-seq');
  if (firstSeq > lastSeq) throw cursor.error(`first-seq ${firstSeq} is after last-seq ${lastSeq}`);
  const children = cursor.children();
  const origin = readOrigin(children.required(PUBSYNC_NS, 'origin'));
  children.end();
  return { origin, firstSeq, lastSeq };
}

function readSeq(cursor: ElementCursor, key: string): bigint {
  const text = cursor.requireAttr(key);
  const seq = parseSeq(text);
  if (seq === undefined) throw cursor.error(`${key} ${excerpt(text)} is not an unsigned 64-bit decimal`);
  return seq;
}

function readObjectEntry(cursor: ElementCursor): ObjectEntry {
  const children = cursor.allowAttributes().children();
  const idCursor = children.required(ATOM_NS, 'id');
  const id = readId(idCursor.nonEmptyText(), idCursor);
  const title = readTitle(children.required(ATOM_NS, 'title'));
  const updated = children.required(ATOM_NS, 'updated');
  const author = children.required(ATOM_NS, 'author');
  const typeCategory = children.required(ATOM_NS, 'category');
  const tags = children.many(ATOM_NS, 'category', cursor.limits.maxItems).map(readTagCategory);
  const content = children.required(ATOM_NS, 'content');
  children.end();
  const object = readContent(content);
  checkPerson(author, object.origin);
  checkDerived(updated, readAtomDate(updated), csnTimestamp(object.csn), 'the CSN time');
  checkDerived(typeCategory, readTypeCategory(typeCategory), object.type, 'the object type');
  return {
    id,
    deleted: false,
    origin: object.origin,
    type: object.type,
    tags,
    keys: object.keys,
    csn: object.csn,
    ...(title === undefined ? {} : { title }),
    fields: object.fields,
    changed: object.changed,
    children: object.children,
    attachments: object.attachments,
    ...(object.tombstone === undefined ? {} : { tombstone: object.tombstone }),
  };
}

function readTombstone(cursor: ElementCursor): TombstoneEntry {
  cursor.allowAttributes('ref', 'when');
  const id = readId(cursor.requireAttr('ref'), cursor);
  const when = cursor.requireAttr('when');
  const children = cursor.children();
  const by = children.required(TOMBSTONE_NS, 'by');
  const object = readObject(children.required(PUBSYNC_NS, 'object'), 'tombstone');
  children.end();
  checkPerson(by, object.origin);
  if (when !== csnTimestamp(object.csn)) {
    throw cursor.error(`when ${excerpt(when)} does not match the CSN time ${csnTimestamp(object.csn)}`);
  }
  return { id, deleted: true, origin: object.origin, type: object.type, tags: object.tags, keys: object.keys, csn: object.csn };
}

function readId(text: string, cursor: ElementCursor): string {
  if (!isUrnUuid(text)) throw cursor.error(`id ${excerpt(text)} is not a urn:uuid`);
  return text;
}

/** undefined when the title is the generated placeholder for an object without a title. */
function readTitle(cursor: ElementCursor): string | undefined {
  cursor.allowAttributes('type', PS_GENERATED, PS_ENC);
  checkTextType(cursor);
  const generated = cursor.attr(PS_GENERATED);
  if (generated === undefined) return cursor.escapedText(PS_ENC);
  if (generated !== 'true') throw cursor.error(`ps:generated must be "true", got ${excerpt(generated)}`);
  cursor.text();
  return undefined;
}

/** Atom text constructs may be html or xhtml; this format only writes (and reads) plain text. */
function checkTextType(cursor: ElementCursor): void {
  const type = cursor.attr('type');
  if (type !== undefined && type !== 'text') throw cursor.error(`${cursor.name} type ${excerpt(type)} is not supported (text only)`);
}

function readAtomDate(cursor: ElementCursor): string {
  const text = cursor.allowAttributes().text();
  if (!isRfc3339DateTime(text)) throw cursor.error(`${excerpt(text)} is not an RFC 3339 date-time`);
  return text;
}

function readTypeCategory(cursor: ElementCursor): string {
  cursor.allowAttributes('scheme', 'term').empty();
  const scheme = cursor.requireAttr('scheme');
  if (scheme !== TYPE_SCHEME) throw cursor.error(`the first atom:category must have scheme="${TYPE_SCHEME}", found ${excerpt(scheme)}`);
  return cursor.requireAttr('term');
}

function readTagCategory(cursor: ElementCursor): string {
  cursor.allowAttributes('scheme', 'term', PS_ENC).empty();
  const scheme = cursor.requireAttr('scheme');
  if (scheme !== TAG_SCHEME) throw cursor.error(`tag categories must have scheme="${TAG_SCHEME}", found ${excerpt(scheme)}`);
  const term = cursor.requireAttr('term');
  const enc = cursor.attr(PS_ENC);
  if (enc === undefined) return term;
  const decoded = enc === BASE64_ENCODING ? decodeEscaped(term) : undefined;
  if (decoded === undefined) throw cursor.error('ps:enc must be "base64" and term canonical base64 of WTF-8 text');
  return decoded;
}

function readContent(cursor: ElementCursor): ObjectPart {
  cursor.allowAttributes('type');
  const type = cursor.requireAttr('type');
  if (type !== CONTENT_TYPE) throw cursor.error(`content type must be "${CONTENT_TYPE}", found ${excerpt(type)}`);
  const children = cursor.children();
  const object = readObject(children.required(PUBSYNC_NS, 'object'), 'entry');
  children.end();
  return object;
}

interface ObjectPart {
  readonly origin: Origin;
  readonly type: string;
  readonly csn: string;
  readonly keys: SourceKey[];
  readonly tags: string[];
  readonly fields: Field[];
  readonly changed: string[];
  readonly children: Child[];
  readonly attachments: Attachment[];
  readonly tombstone?: string;
}

/** ps:object; a tombstone's carries tags (RFC 6721 has no atom:category) and no state. */
function readObject(cursor: ElementCursor, kind: 'entry' | 'tombstone'): ObjectPart {
  const { maxItems, maxFields } = cursor.limits;
  const entry = kind === 'entry';
  if (entry) cursor.allowAttributes('type', 'csn', 'tombstone');
  else cursor.allowAttributes('type', 'csn');
  const type = readToken(cursor, 'type');
  const csn = readCsn(cursor);
  const tombstone = entry ? readTombstoneCsn(cursor, csn) : undefined;
  const children = cursor.children();
  const origin = readOrigin(children.required(PUBSYNC_NS, 'origin'));
  const keys = children.many(PUBSYNC_NS, 'key', maxItems).map(readKey);
  const tags = entry ? [] : children.many(PUBSYNC_NS, 'tag', maxItems).map((c) => c.allowAttributes('enc').escapedText());
  const fields = entry ? children.many(PUBSYNC_NS, 'field', maxFields).map(readField) : [];
  const changed = entry ? children.many(PUBSYNC_NS, 'changed', maxItems).map((c) => c.allowAttributes('enc').escapedText()) : [];
  const childObjects = entry ? children.many(PUBSYNC_NS, 'child', maxItems).map(readChild) : [];
  const attachments = entry ? children.many(PUBSYNC_NS, 'attachment', maxItems).map(readAttachment) : [];
  children.end();
  return { origin, type, csn, keys, tags, fields, changed, children: childObjects, attachments, ...(tombstone === undefined ? {} : { tombstone }) };
}

/** An object entry's tombstone attribute: the CSN of its newest delete, older than the revision. */
function readTombstoneCsn(cursor: ElementCursor, csn: string): string | undefined {
  const tombstone = cursor.attr('tombstone');
  if (tombstone === undefined) return undefined;
  if (!isCsn(tombstone)) throw cursor.error(`tombstone ${excerpt(tombstone)} is not a CSN`);
  if (tombstone >= csn) throw cursor.error(`tombstone ${tombstone} is not older than the revision csn ${csn}`);
  return tombstone;
}

function readOrigin(cursor: ElementCursor): Origin {
  cursor.allowAttributes('jid', 'replica').empty();
  const jid = readToken(cursor, 'jid');
  const text = cursor.requireAttr('replica');
  const replica = parseReplica(text);
  if (replica === undefined) throw cursor.error(`replica ${excerpt(text)} is not a decimal 0..4095`);
  return { jid, replica };
}

function readKey(cursor: ElementCursor): SourceKey {
  cursor.allowAttributes('scheme', 'enc');
  return { scheme: readToken(cursor, 'scheme'), value: cursor.escapedText() };
}

function readField(cursor: ElementCursor): Field {
  cursor.allowAttributes('type', 'csn');
  const type = cursor.requireAttr('type');
  if (!isFieldType(type)) throw cursor.error(`unknown field type ${excerpt(type)}`);
  const csn = readCsn(cursor);
  const children = cursor.children();
  const name = children.required(PUBSYNC_NS, 'name').allowAttributes('enc').escapedText();
  const escapable = ESCAPABLE_TYPES.has(type);
  const values: FieldValue[] = [];
  for (const v of children.many(PUBSYNC_NS, 'v', cursor.limits.maxValues)) {
    const text = escapable ? v.allowAttributes('enc').escapedText() : v.allowAttributes().text();
    try {
      values.push(parseValue(type, text, cursor.limits));
    } catch (error) {
      if (error instanceof ValueProblem) {
        throw v.error(`${type} value: ${error.message}`, error.overLimit ? ErrorCodes.FORMAT_LIMIT : ErrorCodes.FORMAT_INVALID);
      }
      throw error;
    }
  }
  children.end();
  // The values were decoded for exactly this type, which is what the Field union pairs.
  return { name, type, csn, values } as Field;
}

function readChild(cursor: ElementCursor): Child {
  cursor.allowAttributes('type', 'csn');
  const type = readToken(cursor, 'type');
  const csn = readCsn(cursor);
  const children = cursor.children();
  const id = children.required(PUBSYNC_NS, 'id').allowAttributes('enc').escapedText();
  const fields = children.many(PUBSYNC_NS, 'field', cursor.limits.maxFields).map(readField);
  children.end();
  return { id, type, csn, fields };
}

function readAttachment(cursor: ElementCursor): Attachment {
  cursor.allowAttributes('content-type', 'length', 'sha256', 'csn', 'href');
  const contentType = readToken(cursor, 'content-type');
  const lengthText = cursor.requireAttr('length');
  const length = parseLength(lengthText);
  if (length === undefined) throw cursor.error(`length ${excerpt(lengthText)} is not a non-negative decimal integer`);
  const sha256 = cursor.requireAttr('sha256');
  if (!isSha256Hex(sha256)) throw cursor.error(`sha256 ${excerpt(sha256)} is not 64 lowercase hex digits`);
  const csn = readCsn(cursor);
  const href = cursor.attr('href');
  const children = cursor.children();
  const name = children.required(PUBSYNC_NS, 'name').allowAttributes('enc').escapedText();
  const dataCursor = children.optional(PUBSYNC_NS, 'data');
  children.end();
  const base = { name, contentType, length, sha256, csn };
  if (dataCursor === undefined) {
    if (href === undefined || href === '') throw cursor.error('attachment needs inline ps:data or an href');
    return { ...base, href };
  }
  if (href !== undefined) throw cursor.error('attachment has both inline ps:data and an href');
  return { ...base, data: readInlineData(dataCursor, length, sha256) };
}

function readInlineData(cursor: ElementCursor, length: number, sha256: string): Uint8Array {
  const data = decodeBase64(cursor.allowAttributes().text());
  if (data === undefined) throw cursor.error('ps:data is not canonical base64');
  if (data.byteLength !== length) throw cursor.error(`ps:data has ${data.byteLength} bytes, the attachment says length="${length}"`);
  if (createHash('sha256').update(data).digest('hex') !== sha256) throw cursor.error('ps:data does not match the attachment sha256');
  return data;
}

function readToken(cursor: ElementCursor, key: string): string {
  const value = cursor.requireAttr(key);
  if (value === '') throw cursor.error(`${key} is empty`);
  return value;
}

function readCsn(cursor: ElementCursor): string {
  const csn = cursor.requireAttr('csn');
  if (!isCsn(csn)) throw cursor.error(`csn ${excerpt(csn)} is not a CSN (YYYYmmddHHMMSS.uuuuuuZ#cccccc#rrr#mmmmmm)`);
  return csn;
}

/** atom:author / at:by must name the origin, as the writer derives them from it. */
function checkPerson(cursor: ElementCursor, origin: Origin): void {
  const children = cursor.allowAttributes().children();
  const name = children.required(ATOM_NS, 'name');
  const uri = children.required(ATOM_NS, 'uri');
  children.end();
  checkDerived(name, name.allowAttributes().text(), origin.jid, 'the origin JID');
  checkDerived(uri, uri.allowAttributes().text(), xmppUri(origin.jid), 'the xmpp: URI of the origin JID');
}

function checkDerived(cursor: ElementCursor, actual: string, expected: string, what: string): void {
  if (actual !== expected) throw cursor.error(`${cursor.name} ${excerpt(actual)} does not match ${what} (${excerpt(expected)})`);
}

/**
 * The promise to callers: only SyncErrors come out. Anything else means a parser bug; it is
 * still reported as a bad record (details.internal marks it) rather than crashing the flow.
 */
function guarded<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (isSyncError(error)) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new RecordError(ErrorCodes.FORMAT_MALFORMED, `cannot parse: ${message}`, { cause: error, details: { internal: true } });
  }
}
