import type { Entry, Field, SourceKey } from '../format/model.js';
import type { SourceBatch } from './change.js';

/**
 * A source watches one system and yields what changed, from a checkpoint. The async iterable
 * gives backpressure for free: the core pulls the next batch only when it has stored the last.
 */
export interface Source {
  /**
   * Yields batches from `from` (the last committed checkpoint; undefined on a first start).
   * The iteration ends when `signal` aborts; an error ends it too, and the host restarts it with
   * backoff from the last committed checkpoint.
   */
  start(from: string | undefined, signal: AbortSignal): AsyncIterable<SourceBatch>;
  /**
   * Optional: the current bytes of one attachment of the object with these keys (as the source
   * gave them in its change), or undefined when the object or the attachment is gone. The core
   * calls it when a peer fetches an attachment that travelled by reference; it checks the digest.
   */
  readAttachment?(keys: readonly SourceKey[], name: string, signal: AbortSignal): Promise<AttachmentContent | undefined>;
  /**
   * Optional: true when this source never reports what the sink of the same application wrote
   * (it filters those changes out by the sink's identity, as the ldap source does with
   * replicatorDn). The core then takes nothing it reports for an echo of the sink's writes: a
   * user's change equal to a state the sink once wrote is still a change.
   */
  readonly skipsSinkWrites?: boolean;
  close?(): Promise<void>;
}

/** What readAttachment returns: the bytes of an attachment and their media type. */
export interface AttachmentContent {
  readonly contentType: string;
  readonly data: Uint8Array;
}

/** One entry for a sink, with what the merge decided about it. */
export interface SinkOperation {
  /** The entry after the subscription's transform. */
  readonly entry: Entry;
  /**
   * Parts to write (field names, "child:<id>", "attachment:<name>"): those whose CSN beats what
   * this replica holds; all of them for an object the sink does not hold. A named part the entry
   * does not carry (or carries with no values) is removed. Parts not named are left as they are.
   * Empty for a tombstone.
   */
  readonly fields: readonly string[];
  /** The key this sink gave the object when it last applied it, if it has. */
  readonly localKey?: string;
  /**
   * Set when the operation only removes the named parts: a delete that lost to newer parts of the
   * object, so the object lives on without the parts older than the delete. The entry then
   * carries no fields and no tags: leave the object's type, tags and other parts as they are.
   */
  readonly removeOnly?: true;
  /**
   * For parts named in `fields`: the hash (partHash; "" for absent) of what the core last knew the
   * application to hold there. A sink that reads the object before writing should leave a part
   * whose current hash differs: the application changed it since, the change is not captured yet,
   * and once captured it is published as the newest change (optimistic concurrency). A part not
   * listed is written unconditionally. For a delete: every part the core knew the object to hold;
   * a sink that finds the object holding anything else (changed since) should remove only the
   * parts that still hold what the core expected: once captured, the change is newer than the
   * delete and brings the object back everywhere.
   */
  readonly expected?: Readonly<Record<string, string>>;
  /**
   * Fields the entry had that are older than a delete the object outlived (a delete concurrent
   * with an edit): gone by the merge rule, so not in `entry` and not to be written. A sink that
   * cannot create the object without some of them (an LDAP entry's naming and required
   * attributes) may take those from here.
   */
  readonly outlived?: readonly Field[];
}

export type ApplyOutcome =
  | {
      readonly status: 'applied';
      readonly localKey: string;
      /**
       * Parts the sink left as they were because the application changed them since the core saw
       * them (SinkOperation.expected). For a delete, the object lives on with them: the core must
       * not take the application's next report of it for the echo of a delete.
       */
      readonly left?: readonly string[];
    }
  | { readonly status: 'skipped'; readonly reason: string }
  | { readonly status: 'conflict'; readonly reason: string; readonly localKey?: string }
  | {
      readonly status: 'rejected';
      readonly code: string;
      readonly reason: string;
      readonly details?: Readonly<Record<string, unknown>>;
    };

/**
 * A sink applies entries to one system. apply() is idempotent (the same operation twice has the
 * effect of once) and returns one outcome per operation, in order. A refused record is an outcome
 * ('rejected'), not a throw: throwing means the whole call failed and will be retried.
 */
export interface Sink {
  apply(batch: readonly SinkOperation[], signal: AbortSignal): Promise<readonly ApplyOutcome[]>;
  close?(): Promise<void>;
}

/** A transform maps entries to entries: one to one, to several or to none. It never mutates its input. */
export interface Transform {
  apply(entries: readonly Entry[], signal: AbortSignal): Promise<readonly Entry[]>;
  close?(): Promise<void>;
}
