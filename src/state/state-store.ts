/**
 * Durable state of one daemon. All methods are synchronous (SQLite in-process, WAL), so that the
 * pipeline can group them in one transaction: a change is appended to the outbound log, the
 * captured object state updated and the source checkpoint committed atomically.
 */

export interface OutboundItem {
  readonly entryId: string;
  readonly csn: string;
  /** The PubSub nodes the entry is routed to. */
  readonly nodes: readonly string[];
  /** The serialized Atom entry (or tombstone). */
  readonly payload: string;
  /** The entry is a tombstone (purged from the log once every peer has it). */
  readonly tombstone?: boolean;
}

export interface OutboundRecord extends OutboundItem {
  /** Per-replica sequence number: dense, increasing, never reused. */
  readonly seq: bigint;
  readonly createdAt: number;
}

/** What the core remembers of an object it captured from a source (to diff and to keep ids stable). */
export interface CapturedObject {
  readonly globalId: string;
  /** Field name (or "child:<id>", "attachment:<name>") to a hash of its values. */
  readonly hashes: Readonly<Record<string, string>>;
  /** Field name to the CSN of its last change. */
  readonly csns: Readonly<Record<string, string>>;
  /** The nodes the object was last published to: its tombstone goes there too. */
  readonly nodes: readonly string[];
  readonly deleted: boolean;
  /** CSN of the newest delete of the object, kept when it is re-created (older fields stay dead). */
  readonly tombstone?: string;
  /** Every key value the source gave the object, so a sink's local key finds it. */
  readonly keys?: readonly string[];
}

/** A captured object with the primary key the source addresses it by. */
export interface CapturedAt {
  readonly key: string;
  readonly object: CapturedObject;
}

/** What a sink has applied of an object: its local key and the CSN of every field it wrote. */
export interface AppliedObject {
  readonly globalId: string;
  readonly localKey: string | undefined;
  readonly csns: Readonly<Record<string, string>>;
  /** CSN of the newest revision applied (of the tombstone, when deleted). */
  readonly csn: string;
  readonly deleted: boolean;
  /** CSN of the newest delete seen, also when a newer revision brought the object back. */
  readonly tombstone?: string;
  /** Hash of each part as the sink was given it ("" for a part it removed): the linked source's echo matches them. */
  readonly hashes?: Readonly<Record<string, string>>;
}

export interface DeadLetterInput {
  /** Where it failed: "source:<name>", "sink:<name>", "subscription:<name>", "transport". */
  readonly where: string;
  readonly entryId?: string;
  readonly payload: string | Uint8Array;
  readonly code: string;
  readonly message: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

export interface DeadLetter extends DeadLetterInput {
  readonly id: number;
  readonly createdAt: number;
  readonly retries: number;
}

export interface ConflictInput {
  readonly kind: 'conflict' | 'collision';
  readonly where: string;
  readonly globalId: string;
  readonly details: Readonly<Record<string, unknown>>;
}

export interface ConflictRecord extends ConflictInput {
  readonly id: number;
  readonly createdAt: number;
}

export interface StateStore {
  /**
   * Runs fn in one transaction (nested calls join the outer one). A nested call that throws undoes
   * only its own writes before the error reaches the enclosing body, which may catch it and go on.
   * fn must be synchronous: a returned promise is refused (TypeError) and everything rolled back.
   */
  transaction<T>(fn: () => T): T;
  close(): void;

  // Outbound log and source checkpoints.
  appendOutbound(items: readonly OutboundItem[]): bigint[];
  readOutbound(afterSeq: bigint, limit: number): OutboundRecord[];
  lastOutboundSeq(): bigint;
  outboundDepth(): number;
  getCheckpoint(source: string): string | undefined;
  setCheckpoint(source: string, checkpoint: string): void;
  /** Every source's checkpoint, by source name (for `pubsync status`). */
  listCheckpoints(): { source: string; checkpoint: string; updatedAt: number }[];

  // Objects captured by sources.
  getCaptured(source: string, key: string): CapturedObject | undefined;
  putCaptured(source: string, key: string, object: CapturedObject): void;
  findCapturedByGlobalId(source: string, globalId: string): CapturedAt | undefined;
  /** The object one of whose keys (any scheme) has this value, the most recently captured first. */
  findCapturedByKeyValue(source: string, value: string): CapturedAt | undefined;

  // Objects applied by sinks.
  getApplied(sink: string, globalId: string): AppliedObject | undefined;
  findAppliedByKey(sink: string, localKey: string): AppliedObject | undefined;
  putApplied(sink: string, object: AppliedObject): void;
  /** Objects known as deleted (applied or captured tombstones not yet purged). */
  countTombstones(): number;
  /** Drops applied and captured tombstones recorded before `olderThan` (ms since epoch); returns how many. */
  purgeTombstones(olderThan: number): number;

  // Subscriber side: the last origin sequence applied, per origin replica and subscription.
  getHighWater(subscription: string, origin: string): bigint;
  setHighWater(subscription: string, origin: string, seq: bigint): void;
  /** Every subscription's position per origin (for `pubsync status`). */
  listHighWater(): { subscription: string; origin: string; seq: bigint; updatedAt: number }[];

  // Publisher side: what each peer has acknowledged, so the log can be trimmed.
  setPeerAck(peer: string, seq: bigint): void;
  peerAcks(): ReadonlyMap<string, bigint>;
  /** Deletes log records every listed peer acknowledged, or older than `olderThan`; returns how many. */
  trimOutbound(peers: readonly string[], olderThan: number): number;
  /**
   * Like trimOutbound, but deletes only records superseded by a later record of the same entry:
   * the newest record of every entry (tombstones included) stays, so readSnapshot stays complete.
   * Deletes at most `limit` records per call (default 10,000); returns how many.
   */
  compactOutbound(peers: readonly string[], olderThan: number, limit?: number): number;
  /**
   * Deletes log tombstones (the newest record of their entry) every listed peer acknowledged, or
   * older than `olderThan`; moves compactedThrough past them. At most `limit` per call.
   */
  purgeLogTombstones(peers: readonly string[], olderThan: number, limit?: number): number;
  /** The newest record of one entry, if the log holds one. */
  latestOutbound(entryId: string): OutboundRecord | undefined;
  /** The newest record of each entry whose newest record is after `afterSeq`, in seq order. */
  readSnapshot(afterSeq: bigint, limit: number): OutboundRecord[];
  /** The smallest seq the log still holds; undefined when it is empty. */
  oldestOutboundSeq(): bigint | undefined;
  /**
   * The highest seq compactOutbound ever deleted (0n if none): a peer positioned before it would
   * miss records in a plain catch-up, and gets a snapshot instead.
   */
  compactedThrough(): bigint;

  // Dead letters.
  addDeadLetter(letter: DeadLetterInput): number;
  listDeadLetters(options?: { afterId?: number; limit?: number }): DeadLetter[];
  getDeadLetter(id: number): DeadLetter | undefined;
  markRetried(id: number): void;
  deleteDeadLetter(id: number): boolean;
  countDeadLetters(): number;

  // Conflicts and key collisions, for `pubsync status` and the log.
  addConflict(conflict: ConflictInput): number;
  listConflicts(options?: { afterId?: number; limit?: number }): ConflictRecord[];
  countConflicts(kind?: ConflictInput['kind']): number;

  // Plugin key-value state, by scope.
  kvGet(scope: string, key: string): string | undefined;
  kvPut(scope: string, key: string, value: string): void;
  kvDelete(scope: string, key: string): void;
  kvEntries(scope: string, prefix: string, afterKey: string | undefined, limit: number): [string, string][];
}
