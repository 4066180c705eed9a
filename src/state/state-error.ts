import Database from 'better-sqlite3';
import { ErrorCodes, SyncError, isSyncError, type ErrorKind } from '../errors/index.js';

/**
 * How long a caller should wait before retrying a transient store failure. Lock contention
 * clears in moments; a full disk needs an operator (or log rotation), so retrying it often only
 * fills the log.
 */
const RETRY_AFTER_BUSY_MS = 1_000;
const RETRY_AFTER_FULL_MS = 30_000;

/**
 * Kinds of SQLite failure, by primary result code (the part of the extended code before the
 * second underscore: SQLITE_IOERR_WRITE is SQLITE_IOERR).
 *
 * The store is the daemon's memory: most failures (read-only file, corruption, "not a database",
 * I/O errors, a file that cannot be opened) do not go away by themselves, and carrying on without
 * durable state would lose or duplicate changes. Those are kind 'config': fatal, the operator must
 * act, as for a bad configuration. Only two failures clear on their own and are 'transient': lock
 * contention (another process holds the database past busy_timeout) and a full disk (space is
 * freed and the very same transaction succeeds). Every call is atomic, so retrying is safe.
 */
const TRANSIENT_SQLITE_CODES: ReadonlySet<string> = new Set(['SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_FULL']);

export function isSqliteError(error: unknown): error is InstanceType<typeof Database.SqliteError> {
  return error instanceof Database.SqliteError;
}

export function primarySqliteCode(code: string): string {
  return code.split('_', 2).join('_');
}

export function stateErrorKind(sqliteCode: string): ErrorKind {
  return TRANSIENT_SQLITE_CODES.has(primarySqliteCode(sqliteCode)) ? 'transient' : 'config';
}

function retryAfterMs(sqliteCode: string): number | undefined {
  const primary = primarySqliteCode(sqliteCode);
  if (primary === 'SQLITE_FULL') return RETRY_AFTER_FULL_MS;
  return TRANSIENT_SQLITE_CODES.has(primary) ? RETRY_AFTER_BUSY_MS : undefined;
}

/** A store failure naming the database file, so the operator knows which file to look at. */
export function stateIoError(
  file: string,
  message: string,
  options: { kind?: ErrorKind; cause?: unknown; details?: Record<string, unknown>; retryAfterMs?: number } = {},
): SyncError {
  return new SyncError(ErrorCodes.STATE_IO, options.kind ?? 'config', `state database ${file}: ${message}`, {
    cause: options.cause,
    details: { file, ...options.details },
    ...(options.retryAfterMs === undefined ? {} : { retryAfterMs: options.retryAfterMs }),
  });
}

/**
 * Turns a failure of the database layer into a SyncError. SyncErrors pass unchanged (they were
 * already translated by an inner call) and so do errors that are not the database's (a TypeError
 * from a bad argument, or whatever a transaction body threw): those are the caller's own.
 */
export function toStateError(error: unknown, file: string, operation: string): unknown {
  if (isSyncError(error)) return error;
  if (isSqliteError(error)) {
    const retry = retryAfterMs(error.code);
    return stateIoError(file, `${operation} failed: ${error.message} (${error.code})`, {
      kind: stateErrorKind(error.code),
      cause: error,
      details: { operation, sqliteCode: error.code },
      ...(retry === undefined ? {} : { retryAfterMs: retry }),
    });
  }
  if (isNodeSystemError(error)) {
    return stateIoError(file, `${operation} failed: ${error.message}`, {
      cause: error,
      details: { operation, errno: error.code },
    });
  }
  return error;
}

function isNodeSystemError(error: unknown): error is NodeJS.ErrnoException & { code: string } {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string' && 'syscall' in error;
}
