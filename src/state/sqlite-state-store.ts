import { accessSync, closeSync, constants, fchmodSync, openSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { SyncError } from '../errors/index.js';
import { keySuccessor, prefixUpperBound } from './key-range.js';
import { migrate } from './migrations.js';
import { isSqliteError, stateIoError, toStateError } from './state-error.js';
import {
  prepareStatements,
  type AppliedRow,
  type CapturedRow,
  type ConflictRow,
  type DeadLetterRow,
  type OutboundRow,
  type Statements,
} from './statements.js';
import type {
  AppliedObject,
  CapturedAt,
  CapturedObject,
  ConflictInput,
  ConflictRecord,
  DeadLetter,
  DeadLetterInput,
  OutboundItem,
  OutboundRecord,
  StateStore,
} from './state-store.js';

export const MEMORY_DATABASE = ':memory:';

/** Page size of the list methods when the caller gives no limit. */
export const DEFAULT_PAGE_SIZE = 100;

/** Records compactOutbound deletes per call unless told otherwise. */
const COMPACT_BATCH = 10_000;
/** The core's own key-value scope for the log's compaction horizon (no schema change needed). */
const OUTBOUND_SCOPE = 'state:outbound';
const COMPACTED_THROUGH = 'compacted-through';

/** Owner read and write only: the state holds copies of directory entries and documents. */
const FILE_MODE = 0o600;

/**
 * When a commit reaches the disk.
 *
 * - 'full' (default): the WAL is fsynced at every commit. A committed change survives a process
 *   kill and a power loss or kernel crash.
 * - 'normal': the WAL is fsynced only at checkpoints. A process kill (even kill -9) still loses
 *   nothing, because the commit is in the OS page cache; a power loss can lose the last commits
 *   (never corrupting the file: the database comes back as of an earlier commit).
 *
 * 'full' is the default because a lost commit is not harmless here: the outbound seq of a lost
 * commit may already have been published, and after the restart the same seq would be assigned to
 * a different entry that peers, whose high-water mark already covers it, would silently skip.
 */
export type SynchronousMode = 'full' | 'normal';

export interface StateStoreOptions {
  readonly synchronous?: SynchronousMode;
  /** How long a statement waits for another connection's lock before failing (transient). */
  readonly busyTimeoutMs?: number;
  /** Wall clock for created_at/updated_at; injected so tests control retention and purges. */
  readonly clock?: { now(): number };
}

/**
 * Opens (creating and migrating as needed) the state database at path, or an in-memory one for
 * ":memory:". Fails with PUBSYNC_ERR_STATE_IO when the file cannot be used and
 * PUBSYNC_ERR_STATE_SCHEMA when it was written by a newer pubsync or another application.
 */
export function openStateStore(path: string, options: StateStoreOptions = {}): SqliteStateStore {
  const memory = path === MEMORY_DATABASE;
  if (!memory) prepareFile(path);
  const db = openDatabase(path, options);
  try {
    configure(db, path, memory, options.synchronous ?? 'full');
    migrate(db, path);
    return new SqliteStateStore(db, path, prepareStatements(db), options.clock ?? Date);
  } catch (error) {
    db.close();
    throw toStateError(error, path, 'open');
  }
}

/**
 * Creates the file before SQLite does, with owner-only permissions regardless of the umask
 * (open()'s mode is masked by it, fchmod's is not). SQLite gives the -wal and -shm files it
 * creates later the mode of the database file. An existing file keeps its mode (an operator may
 * have chosen a group for backups) but must be writable.
 */
function prepareFile(path: string): void {
  checkDirectory(path);
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL, FILE_MODE);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return checkWritable(path);
    throw toStateError(error, path, 'create');
  }
  try {
    fchmodSync(fd, FILE_MODE);
  } finally {
    closeSync(fd);
  }
}

/**
 * SQLite silently opens a file it cannot write read-only and fails at the first write; checking
 * first gives the operator the reason at start rather than a write error later.
 */
function checkWritable(path: string): void {
  try {
    accessSync(path, constants.R_OK | constants.W_OK);
  } catch (error) {
    throw stateIoError(path, `cannot be read and written by this process (${(error as Error).message})`, {
      cause: error,
    });
  }
}

function checkDirectory(path: string): void {
  const directory = dirname(resolve(path));
  let isDirectory: boolean;
  try {
    isDirectory = statSync(directory).isDirectory();
  } catch (error) {
    throw stateIoError(path, `directory ${directory} does not exist or cannot be read`, {
      cause: error,
      details: { directory },
    });
  }
  if (!isDirectory) throw stateIoError(path, `${directory} is not a directory`, { details: { directory } });
}

function openDatabase(path: string, options: StateStoreOptions): Database.Database {
  try {
    return new Database(path, { timeout: options.busyTimeoutMs ?? 5_000 });
  } catch (error) {
    throw toStateError(error, path, 'open');
  }
}

function configure(db: Database.Database, path: string, memory: boolean, synchronous: SynchronousMode): void {
  if (!memory) {
    // WAL: readers (pubsync status) never block the daemon's writes, and commits are appends.
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal') throw stateIoError(path, `cannot use WAL journaling (SQLite kept "${String(mode)}")`);
  }
  db.pragma(`synchronous = ${synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
  db.pragma('foreign_keys = ON');
}

/** The StateStore on one SQLite connection. All methods are synchronous and atomic. */
export class SqliteStateStore implements StateStore {
  /** Depth of transaction() calls, to notice when SQLite rolled a transaction back on its own. */
  private depth = 0;
  /** The last database error inside the current transaction, to explain a lost transaction. */
  private failure: SyncError | undefined;
  private readonly runInTransaction: (fn: () => unknown) => unknown;

  constructor(
    private readonly db: Database.Database,
    /** The database file (or ":memory:"), named in every error. */
    readonly file: string,
    private readonly s: Statements,
    private readonly clock: { now(): number },
  ) {
    // IMMEDIATE takes the write lock at BEGIN: a deferred transaction that reads, then writes,
    // can fail with SQLITE_BUSY_SNAPSHOT if another connection wrote in between. Nested calls
    // become savepoints (better-sqlite3 does that when a transaction is already open).
    this.runInTransaction = db.transaction((fn: () => unknown): unknown => this.inTransactionBody(fn)).immediate;
  }

  transaction<T>(fn: () => T): T {
    return this.guard('transaction', () => this.runInTransaction(fn) as T);
  }

  close(): void {
    if (!this.db.open) return;
    try {
      // Recommended before closing a long-lived connection: keeps the planner's statistics fresh.
      // Only an optimisation: a failure (a file turned read-only) must not stop the close.
      this.db.pragma('optimize');
    } catch {
      // Nothing to undo: optimize changes statistics, never data.
    }
    this.guard('close', () => this.db.close());
  }

  // Outbound log and source checkpoints.

  /**
   * The seqs are final once the enclosing transaction commits; if it rolls back, they were never
   * assigned and the next append receives them again. Publish only after the commit.
   */
  appendOutbound(items: readonly OutboundItem[]): bigint[] {
    return this.atomically('appendOutbound', () => {
      const createdAt = this.clock.now();
      return items.map((item) => {
        const result = this.s.insertOutbound.run(
          item.entryId,
          item.csn,
          JSON.stringify(item.nodes),
          item.payload,
          createdAt,
          toFlag(item.tombstone === true),
        );
        return BigInt(result.lastInsertRowid);
      });
    });
  }

  readOutbound(afterSeq: bigint, limit: number): OutboundRecord[] {
    return this.guard('readOutbound', () => {
      const sqlLimit = toSqlLimit(limit);
      return sqlLimit === 0 ? [] : this.s.readOutbound.all(afterSeq, sqlLimit).map(toOutboundRecord);
    });
  }

  latestOutbound(entryId: string): OutboundRecord | undefined {
    return this.guard('latestOutbound', () => mapOptional(this.s.latestOutbound.get(entryId), toOutboundRecord));
  }

  readSnapshot(afterSeq: bigint, limit: number): OutboundRecord[] {
    return this.guard('readSnapshot', () => {
      const sqlLimit = toSqlLimit(limit);
      return sqlLimit === 0 ? [] : this.s.readSnapshot.all(afterSeq, sqlLimit).map(toOutboundRecord);
    });
  }

  oldestOutboundSeq(): bigint | undefined {
    return this.guard('oldestOutboundSeq', () => this.s.oldestOutboundSeq.get() ?? undefined);
  }

  lastOutboundSeq(): bigint {
    return this.guard('lastOutboundSeq', () => this.s.lastOutboundSeq.get() ?? 0n);
  }

  outboundDepth(): number {
    return this.guard('outboundDepth', () => this.s.outboundDepth.get() ?? 0);
  }

  getCheckpoint(source: string): string | undefined {
    return this.guard('getCheckpoint', () => this.s.getCheckpoint.get(source));
  }

  setCheckpoint(source: string, checkpoint: string): void {
    this.guard('setCheckpoint', () => this.s.setCheckpoint.run(source, checkpoint, this.clock.now()));
  }

  // Objects captured by sources.

  getCaptured(source: string, key: string): CapturedObject | undefined {
    return this.guard('getCaptured', () => mapOptional(this.s.getCaptured.get(source, key), toCapturedObject));
  }

  putCaptured(source: string, key: string, object: CapturedObject): void {
    this.guard('putCaptured', () => {
      this.s.putCaptured.run(
        source,
        key,
        object.globalId,
        JSON.stringify(object.hashes),
        JSON.stringify(object.csns),
        JSON.stringify(object.nodes),
        toFlag(object.deleted),
        object.tombstone ?? null,
        this.clock.now(),
      );
      if (object.keys === undefined) return;
      this.s.deleteCapturedKeys.run(source, key);
      for (const value of new Set([key, ...object.keys])) this.s.putCapturedKey.run(source, value, key);
    });
  }

  findCapturedByGlobalId(source: string, globalId: string): CapturedAt | undefined {
    return this.guard('findCapturedByGlobalId', () =>
      mapOptional(this.s.findCapturedByGlobalId.get(source, globalId), toCapturedAt),
    );
  }

  findCapturedByKeyValue(source: string, value: string): CapturedAt | undefined {
    return this.guard('findCapturedByKeyValue', () =>
      mapOptional(this.s.findCapturedByKeyValue.get(source, value), toCapturedAt),
    );
  }

  // Objects applied by sinks.

  getApplied(sink: string, globalId: string): AppliedObject | undefined {
    return this.guard('getApplied', () => mapOptional(this.s.getApplied.get(sink, globalId), toAppliedObject));
  }

  findAppliedByKey(sink: string, localKey: string): AppliedObject | undefined {
    return this.guard('findAppliedByKey', () =>
      mapOptional(this.s.findAppliedByKey.get(sink, localKey), toAppliedObject),
    );
  }

  putApplied(sink: string, object: AppliedObject): void {
    this.guard('putApplied', () =>
      this.s.putApplied.run(
        sink,
        object.globalId,
        object.localKey ?? null,
        JSON.stringify(object.csns),
        object.csn,
        toFlag(object.deleted),
        object.tombstone ?? null,
        JSON.stringify(object.hashes ?? {}),
        this.clock.now(),
      ),
    );
  }

  countTombstones(): number {
    return this.guard('countTombstones', () => (this.s.countTombstones.get() ?? 0) + (this.s.countCapturedTombstones.get() ?? 0));
  }

  purgeTombstones(olderThan: number): number {
    return this.guard('purgeTombstones', () =>
      this.transaction(() => this.s.purgeTombstones.run(olderThan).changes + this.s.purgeCapturedTombstones.run(olderThan).changes),
    );
  }

  // Subscriber side.

  listCheckpoints(): { source: string; checkpoint: string; updatedAt: number }[] {
    return this.guard('listCheckpoints', () =>
      this.s.listCheckpoints.all().map((row) => ({ source: row.source, checkpoint: row.checkpoint, updatedAt: Number(row.updated_at) })),
    );
  }

  listHighWater(): { subscription: string; origin: string; seq: bigint; updatedAt: number }[] {
    return this.guard('listHighWater', () =>
      this.s.listHighWater.all().map((row) => ({
        subscription: row.subscription,
        origin: row.origin,
        seq: row.seq,
        updatedAt: Number(row.updated_at),
      })),
    );
  }

  getHighWater(subscription: string, origin: string): bigint {
    return this.guard('getHighWater', () => this.s.getHighWater.get(subscription, origin) ?? 0n);
  }

  setHighWater(subscription: string, origin: string, seq: bigint): void {
    this.guard('setHighWater', () => this.s.setHighWater.run(subscription, origin, seq, this.clock.now()));
  }

  // Publisher side.

  /** Last write wins: an ack that goes backwards only keeps more of the log, which is safe. */
  setPeerAck(peer: string, seq: bigint): void {
    this.guard('setPeerAck', () => this.s.setPeerAck.run(peer, seq, this.clock.now()));
  }

  peerAcks(): ReadonlyMap<string, bigint> {
    return this.guard('peerAcks', () => new Map(this.s.peerAcks.all().map((row) => [row.peer, row.seq])));
  }

  /**
   * Deletes the records every listed peer acknowledged (seq <= the smallest of their acks) and,
   * whatever the acks, the records created before olderThan (retention). A listed peer that never
   * acknowledged anything holds the whole log back, and so does an empty peer list: with no known
   * peer nothing is acknowledged, so only retention applies.
   */
  trimOutbound(peers: readonly string[], olderThan: number): number {
    return this.atomically('trimOutbound', () => {
      const acked = this.acknowledgedByAll(peers);
      const result =
        acked === undefined ? this.s.trimOlder.run(olderThan) : this.s.trimAckedOrOlder.run(acked, olderThan);
      return result.changes;
    });
  }

  /**
   * Log compaction: superseded records go once every listed peer acknowledged them or the
   * retention passed; the newest record of each entry stays whatever its age, because a new or
   * far-behind subscriber is served a snapshot made of exactly those records. Bounded per call so
   * that one call cannot hold the write lock for long; callers repeat while it returns `limit`.
   */
  compactOutbound(peers: readonly string[], olderThan: number, limit = COMPACT_BATCH): number {
    return this.atomically('compactOutbound', () => {
      const sqlLimit = toSqlLimit(limit);
      if (sqlLimit === 0) return 0;
      const acked = this.acknowledgedByAll(peers);
      const deleted =
        acked === undefined
          ? this.s.compactOlder.iterate(olderThan, sqlLimit)
          : this.s.compactAckedOrOlder.iterate(acked, olderThan, sqlLimit);
      return this.noteCompacted(deleted);
    });
  }

  purgeLogTombstones(peers: readonly string[], olderThan: number, limit = COMPACT_BATCH): number {
    return this.atomically('purgeLogTombstones', () => {
      const sqlLimit = toSqlLimit(limit);
      if (sqlLimit === 0) return 0;
      const acked = this.acknowledgedByAll(peers);
      const deleted =
        acked === undefined
          ? this.s.purgeLogTombstonesOlder.iterate(olderThan, sqlLimit)
          : this.s.purgeLogTombstonesAckedOrOlder.iterate(acked, olderThan, sqlLimit);
      return this.noteCompacted(deleted);
    });
  }

  /** Counts deleted log records and moves compactedThrough past them: a peer before them needs a snapshot. */
  private noteCompacted(deleted: Iterable<bigint>): number {
    let count = 0;
    let highest = this.compactedThrough();
    for (const seq of deleted) {
      count += 1;
      if (seq > highest) highest = seq;
    }
    if (count > 0) this.s.kvPut.run(OUTBOUND_SCOPE, COMPACTED_THROUGH, String(highest));
    return count;
  }

  compactedThrough(): bigint {
    return this.guard('compactedThrough', () => BigInt(this.s.kvGet.get(OUTBOUND_SCOPE, COMPACTED_THROUGH) ?? '0'));
  }

  // Dead letters.

  addDeadLetter(letter: DeadLetterInput): number {
    return this.guard('addDeadLetter', () => {
      const isText = typeof letter.payload === 'string';
      const result = this.s.addDeadLetter.run(
        this.clock.now(),
        letter.where,
        letter.entryId ?? null,
        letter.payload,
        toFlag(isText),
        letter.code,
        letter.message,
        letter.details === undefined ? null : toJson(letter.details),
      );
      return Number(result.lastInsertRowid);
    });
  }

  listDeadLetters(options: { afterId?: number; limit?: number } = {}): DeadLetter[] {
    return this.guard('listDeadLetters', () => {
      const sqlLimit = toSqlLimit(options.limit ?? DEFAULT_PAGE_SIZE);
      return sqlLimit === 0 ? [] : this.s.listDeadLetters.all(options.afterId ?? 0, sqlLimit).map(toDeadLetter);
    });
  }

  getDeadLetter(id: number): DeadLetter | undefined {
    return this.guard('getDeadLetter', () => mapOptional(this.s.getDeadLetter.get(id), toDeadLetter));
  }

  markRetried(id: number): void {
    this.guard('markRetried', () => this.s.markRetried.run(this.clock.now(), id));
  }

  deleteDeadLetter(id: number): boolean {
    return this.guard('deleteDeadLetter', () => this.s.deleteDeadLetter.run(id).changes > 0);
  }

  countDeadLetters(): number {
    return this.guard('countDeadLetters', () => this.s.countDeadLetters.get() ?? 0);
  }

  // Conflicts and key collisions.

  addConflict(conflict: ConflictInput): number {
    return this.guard('addConflict', () => {
      const result = this.s.addConflict.run(
        this.clock.now(),
        conflict.kind,
        conflict.where,
        conflict.globalId,
        toJson(conflict.details),
      );
      return Number(result.lastInsertRowid);
    });
  }

  listConflicts(options: { afterId?: number; limit?: number } = {}): ConflictRecord[] {
    return this.guard('listConflicts', () => {
      const sqlLimit = toSqlLimit(options.limit ?? DEFAULT_PAGE_SIZE);
      return sqlLimit === 0 ? [] : this.s.listConflicts.all(options.afterId ?? 0, sqlLimit).map(toConflictRecord);
    });
  }

  countConflicts(kind?: ConflictInput['kind']): number {
    return this.guard('countConflicts', () =>
      (kind === undefined ? this.s.countConflicts.get() : this.s.countConflictsOfKind.get(kind)) ?? 0,
    );
  }

  // Plugin key-value state.

  kvGet(scope: string, key: string): string | undefined {
    return this.guard('kvGet', () => this.s.kvGet.get(scope, key));
  }

  kvPut(scope: string, key: string, value: string): void {
    this.guard('kvPut', () => this.s.kvPut.run(scope, key, value));
  }

  kvDelete(scope: string, key: string): void {
    this.guard('kvDelete', () => this.s.kvDelete.run(scope, key));
  }

  /** Entries of scope whose key starts with prefix and sorts after afterKey, in code point order. */
  kvEntries(scope: string, prefix: string, afterKey: string | undefined, limit: number): [string, string][] {
    return this.guard('kvEntries', () => {
      const sqlLimit = toSqlLimit(limit);
      if (sqlLimit === 0) return [];
      const lower = afterKey === undefined ? prefix : keySuccessor(afterKey);
      const upper = prefixUpperBound(prefix) ?? NO_UPPER_BOUND;
      return this.s.kvRange.all(scope, prefix, lower, upper, sqlLimit);
    });
  }

  private acknowledgedByAll(peers: readonly string[]): bigint | undefined {
    if (peers.length === 0) return undefined;
    const acks = this.peerAcks();
    let lowest: bigint | undefined;
    for (const peer of peers) {
      const ack = acks.get(peer);
      if (ack === undefined) return undefined;
      if (lowest === undefined || ack < lowest) lowest = ack;
    }
    return lowest;
  }

  /** Several statements that must commit together (joining the caller's transaction, if any). */
  private atomically<T>(operation: string, body: () => T): T {
    return this.guard(operation, () => this.runInTransaction(body) as T);
  }

  private inTransactionBody(fn: () => unknown): unknown {
    this.depth += 1;
    try {
      const result = fn();
      // The body may have caught a store error after which SQLite rolled everything back (a full
      // disk, an I/O error): committing now would commit nothing and report success.
      this.checkTransactionAlive();
      return result;
    } finally {
      this.depth -= 1;
      if (this.depth === 0) this.failure = undefined;
    }
  }

  /**
   * Runs body, translating database failures into SyncErrors naming the file. Inside a
   * transaction that SQLite has already rolled back, refuses to run: the statement would run in
   * autocommit mode and commit half of what the caller meant to be atomic.
   */
  private guard<T>(operation: string, body: () => T): T {
    this.checkTransactionAlive();
    try {
      return body();
    } catch (error) {
      const translated = toStateError(error, this.file, operation);
      if (this.depth > 0 && isSqliteError(error)) this.failure = translated as SyncError;
      throw translated;
    }
  }

  private checkTransactionAlive(): void {
    if (this.depth === 0 || this.db.inTransaction) return;
    const cause = this.failure;
    const reason = cause ? `: ${cause.message}` : '';
    throw stateIoError(this.file, `the transaction was rolled back by SQLite after an error${reason}`, {
      kind: cause?.kind ?? 'config',
      cause,
      ...(cause?.retryAfterMs === undefined ? {} : { retryAfterMs: cause.retryAfterMs }),
    });
  }
}

/**
 * An empty BLOB as "no upper bound": SQLite orders every TEXT value before every BLOB, so
 * `key < x''` holds for all keys and the range query needs no second variant.
 */
const NO_UPPER_BOUND = Buffer.alloc(0);

/** SQLite treats a negative LIMIT as "no limit": 0 means "return nothing" and is handled by callers. */
function toSqlLimit(limit: number): number {
  if (Number.isNaN(limit) || limit <= 0) return 0;
  return Number.isFinite(limit) ? Math.floor(limit) : -1;
}

function toFlag(value: boolean): number {
  return value ? 1 : 0;
}

function mapOptional<Row, T>(row: Row | undefined, map: (row: Row) => T): T | undefined {
  return row === undefined ? undefined : map(row);
}

function parseRecord(json: string): Record<string, string> {
  return JSON.parse(json) as Record<string, string>;
}

/**
 * Details come from errors and plugins and may hold bigints (seqs), errors or cycles. A dead
 * letter must be recorded whatever its details hold, so what JSON cannot express is degraded,
 * never thrown.
 */
function toJson(value: Readonly<Record<string, unknown>>): string {
  try {
    return JSON.stringify(value, jsonReplacer);
  } catch (error) {
    return JSON.stringify({ unserializable: error instanceof Error ? error.message : String(error) });
  }
}

function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Error) return { name: value.name, message: value.message };
  return value;
}

function toOutboundRecord(row: OutboundRow): OutboundRecord {
  return {
    seq: row.seq,
    entryId: row.entry_id,
    csn: row.csn,
    nodes: JSON.parse(row.nodes) as string[],
    payload: row.payload,
    createdAt: Number(row.created_at),
  };
}

function toAppliedObject(row: AppliedRow): AppliedObject {
  const hashes = parseRecord(row.hashes);
  return {
    globalId: row.global_id,
    localKey: row.local_key ?? undefined,
    csns: parseRecord(row.csns),
    csn: row.csn,
    deleted: row.deleted === 1,
    ...(row.tombstone === null ? {} : { tombstone: row.tombstone }),
    ...(Object.keys(hashes).length > 0 ? { hashes } : {}),
  };
}

function toCapturedObject(row: CapturedRow): CapturedObject {
  return {
    globalId: row.global_id,
    hashes: parseRecord(row.hashes),
    csns: parseRecord(row.csns),
    nodes: JSON.parse(row.nodes) as string[],
    deleted: row.deleted === 1,
    ...(row.tombstone === null ? {} : { tombstone: row.tombstone }),
  };
}

function toCapturedAt(row: CapturedRow): CapturedAt {
  return { key: row.key, object: toCapturedObject(row) };
}

function toDeadLetter(row: DeadLetterRow): DeadLetter {
  return {
    id: row.id,
    createdAt: row.created_at,
    where: row.location,
    ...(row.entry_id === null ? {} : { entryId: row.entry_id }),
    payload: row.payload_is_text === 1 ? asText(row.payload) : asBytes(row.payload),
    code: row.code,
    message: row.message,
    ...(row.details === null ? {} : { details: JSON.parse(row.details) as Record<string, unknown> }),
    retries: row.retries,
  };
}

function asText(payload: string | Buffer): string {
  return typeof payload === 'string' ? payload : payload.toString('utf8');
}

/** A plain Uint8Array copy, as given: a Buffer would differ in type and could share a pooled slab. */
function asBytes(payload: string | Buffer): Uint8Array {
  return typeof payload === 'string' ? new TextEncoder().encode(payload) : new Uint8Array(payload);
}

function toConflictRecord(row: ConflictRow): ConflictRecord {
  return {
    id: row.id,
    createdAt: row.created_at,
    kind: row.kind as ConflictInput['kind'],
    where: row.location,
    globalId: row.global_id,
    details: JSON.parse(row.details) as Record<string, unknown>,
  };
}
