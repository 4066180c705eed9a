import type { Field, SourceKey, JsonValue } from '../format/model.js';

/** A field as a source sees it: values without a CSN (the core stamps CSNs when it logs the change). */
export type ChangeField = DistributeOmit<Field, 'csn'>;

type DistributeOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export interface ChangeChild {
  readonly id: string;
  readonly type: string;
  readonly fields: readonly ChangeField[];
}

export interface ChangeAttachment {
  readonly name: string;
  readonly contentType: string;
  /** The bytes; the core inlines them up to the configured size and references them above it. */
  readonly data: Uint8Array;
}

interface ChangeBase {
  /** The object's keys in the source system; the first is the one the source addresses it by. */
  readonly keys: readonly SourceKey[];
  /** A stable global id when the source has one (a UUID such as entryUUID); else the core assigns one. */
  readonly globalId?: string;
  readonly type: string;
  /** The system's own version of the change (e.g. LDAP entryCSN): the clock observes it. */
  readonly sourceCsn?: string;
}

/** The current, complete state of a created or modified object. */
export interface UpsertChange extends ChangeBase {
  readonly op: 'upsert';
  readonly tags?: readonly string[];
  readonly title?: string;
  readonly fields: readonly ChangeField[];
  /**
   * The fields this change modified, when the source knows them exactly (an LDAP modification
   * list). When absent the core works them out against the last state it captured.
   */
  readonly changed?: readonly string[];
  readonly children?: readonly ChangeChild[];
  readonly attachments?: readonly ChangeAttachment[];
}

export interface DeleteChange extends ChangeBase {
  readonly op: 'delete';
}

export type SourceChange = UpsertChange | DeleteChange;

/**
 * What a source yields: changes plus the checkpoint to commit once they are durably in the
 * outbound log. A batch with no changes only moves the checkpoint (e.g. filtered-out records).
 */
export interface SourceBatch {
  readonly changes: readonly SourceChange[];
  /** Opaque to the core: a CouchDB seq, an LDAP CSN cookie, a D-Bus scan marker. */
  readonly checkpoint: string;
  /**
   * Optional: true when the source had nothing more to read right after this batch (the next one
   * waits for a new change). `pubsync sync --once` stops a source at such a batch; a source that
   * has nothing at all to read may yield an empty batch with it. Without it, sync --once deems a
   * source caught up once it yielded nothing for a quiet period (--source-quiet).
   */
  readonly caughtUp?: boolean;
}

export type { JsonValue };
