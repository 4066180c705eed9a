/**
 * The neutral object model behind the syndication format (docs/format.md). Everything that
 * crosses the wire is one of these, serialized as an Atom entry (or an RFC 6721 tombstone).
 * Values are plain data: no classes, so entries can be cloned, compared and sent to workers.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Field value types. Each field holds values of one type; multi-valued fields keep their order. */
export type Field =
  | FieldOf<'string', string>
  | FieldOf<'integer', bigint>
  /** Decimals travel as their canonical decimal text, never as binary floats. */
  | FieldOf<'decimal', string>
  | FieldOf<'boolean', boolean>
  /** RFC 3339 date-time text, kept as given. */
  | FieldOf<'datetime', string>
  | FieldOf<'binary', Uint8Array>
  | FieldOf<'json', JsonValue>;

interface FieldOf<T extends string, V> {
  readonly name: string;
  readonly type: T;
  /** The CSN of the revision that last changed this field (per-field last-writer-wins). */
  readonly csn: string;
  readonly values: readonly V[];
}

export type FieldType = Field['type'];

/** A key of the object in some system: an LDAP DN, an entryUUID, a CouchDB _id, a D-Bus object id. */
export interface SourceKey {
  /** What kind of key it is, e.g. "ldap-dn", "ldap-entryuuid", "couchdb-id", "dbus-id". */
  readonly scheme: string;
  readonly value: string;
}

/** Who made a revision: the daemon's JID and its replica id (the CSN's rid). */
export interface Origin {
  readonly jid: string;
  readonly replica: number;
}

/** An attachment: inline bytes up to the configured size, otherwise a reference to fetch. */
export interface Attachment {
  readonly name: string;
  readonly contentType: string;
  readonly length: number;
  /** Lowercase hex SHA-256 of the content. */
  readonly sha256: string;
  readonly csn: string;
  /** Present when inline. */
  readonly data?: Uint8Array;
  /** Present when not inline: where the receiver fetches it (the origin's catch-up service). */
  readonly href?: string;
}

/** An immediate child of the object (a Midgard parameter, a sub-record): typed fields, no further nesting. */
export interface Child {
  readonly id: string;
  readonly type: string;
  readonly csn: string;
  readonly fields: readonly Field[];
}

interface EntryBase {
  /** Global id, a urn:uuid, stable across systems. Also the Atom id and the PubSub item id. */
  readonly id: string;
  readonly origin: Origin;
  readonly type: string;
  readonly tags: readonly string[];
  readonly keys: readonly SourceKey[];
  /** CSN of this revision; for a tombstone, the CSN of the delete. */
  readonly csn: string;
}

export interface ObjectEntry extends EntryBase {
  readonly deleted: false;
  readonly title?: string;
  readonly fields: readonly Field[];
  /** Names of the fields (and "child:<id>", "attachment:<name>") this revision changed. */
  readonly changed: readonly string[];
  readonly children: readonly Child[];
  readonly attachments: readonly Attachment[];
  /**
   * The CSN of the object's newest delete, when it was deleted and has lived again since: every
   * part older than it is gone. With it each entry is the object's whole state, so a peer that
   * missed the delete (a snapshot, a log compacted past it) still drops the older parts.
   */
  readonly tombstone?: string;
}

/** A delete: an RFC 6721 at:deleted-entry carrying the same identity and version information. */
export interface TombstoneEntry extends EntryBase {
  readonly deleted: true;
}

export type Entry = ObjectEntry | TombstoneEntry;

/** A batch: what one PubSub item carries, an Atom feed of many entries. */
export interface Batch {
  /** Origin sequence range of the entries in this batch (for gap detection by subscribers). */
  readonly origin: Origin;
  readonly firstSeq: bigint;
  readonly lastSeq: bigint;
  readonly entries: readonly Entry[];
}
