import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { ErrorCodes, SyncError } from '../../../src/errors/index.js';
import { primarySqliteCode, stateErrorKind, toStateError } from '../../../src/state/state-error.js';

describe('store error translation', () => {
  it('retries only lock contention and a full disk', () => {
    for (const code of ['SQLITE_BUSY', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_LOCKED', 'SQLITE_FULL']) {
      assert.equal(stateErrorKind(code), 'transient', code);
    }
    for (const code of [
      'SQLITE_READONLY',
      'SQLITE_READONLY_DBMOVED',
      'SQLITE_CORRUPT',
      'SQLITE_NOTADB',
      'SQLITE_IOERR_WRITE',
      'SQLITE_CANTOPEN',
      'SQLITE_PERM',
      'SQLITE_CONSTRAINT_PRIMARYKEY',
    ]) {
      assert.equal(stateErrorKind(code), 'config', code);
    }
    assert.equal(primarySqliteCode('SQLITE_IOERR_SHORT_READ'), 'SQLITE_IOERR');
  });

  it('names the file, the operation and the SQLite code', () => {
    const cause = new Database.SqliteError('disk I/O error', 'SQLITE_IOERR_FSYNC');
    const error = toStateError(cause, '/var/lib/pubsync/state.db', 'appendOutbound');
    assert.ok(error instanceof SyncError);
    assert.equal(error.code, ErrorCodes.STATE_IO);
    assert.equal(error.kind, 'config');
    assert.equal(error.cause, cause);
    assert.match(error.message, /^state database \/var\/lib\/pubsync\/state\.db: appendOutbound failed: disk I\/O error/);
    assert.deepEqual(error.details, {
      file: '/var/lib/pubsync/state.db',
      operation: 'appendOutbound',
      sqliteCode: 'SQLITE_IOERR_FSYNC',
    });
    assert.equal(error.retryAfterMs, undefined);
  });

  it('gives transient errors a retry delay', () => {
    const error = toStateError(new Database.SqliteError('database is locked', 'SQLITE_BUSY'), 'f', 'op');
    assert.ok(error instanceof SyncError && error.kind === 'transient' && error.retryAfterMs !== undefined);
  });

  it('leaves SyncErrors and the caller own errors alone', () => {
    const syncError = new SyncError('PUBSYNC_ERR_X', 'record', 'bad');
    const typeError = new TypeError('bad argument');
    assert.equal(toStateError(syncError, 'f', 'op'), syncError);
    assert.equal(toStateError(typeError, 'f', 'op'), typeError);
  });
});
