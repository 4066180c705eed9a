import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { ErrorCodes } from '../../src/errors/index.js';
import { runDiskTrial } from './disk-scenario.js';

/** The state disk fills up under a running daemon: a clear error and a stop, no corruption, a restart resumes. */
export async function diskFullTrial(t: TestContext, options: { seed: number; changes: number; diskSize: string }): Promise<void> {
  const result = await runDiskTrial({ ...options, fault: 'full' });
  t.diagnostic(`disk full (${options.diskSize} tmpfs, seed ${options.seed}): ${result.changes} changes, daemon A ${result.afterFault === 'running' ? 'kept running' : `exited with ${result.afterFault}`}, integrity ${result.integrity}, ${result.differences.length} differences`);
  assert.notEqual(result.afterFault, 'running', 'the daemon stops instead of going on without its log');
  assert.equal(result.afterFault, 1);
  // A fatal log line and a drained stop, not an unhandled rejection's stack trace.
  const fatal = result.errorLine?.['err'] as { code?: string } | undefined;
  assert.equal(result.errorLine?.['msg'], 'pubsync failed and stops');
  assert.equal(fatal?.code, ErrorCodes.STATE_IO);
  assert.match(result.stderr, new RegExp(ErrorCodes.STATE_IO));
  assert.match(result.stderr, /database or disk is full|SQLITE_FULL/);
  assert.ok(result.stderr.includes('a.db'), 'the error names the state database');
  assert.equal(result.integrity, 'ok', 'PRAGMA integrity_check');
  assert.deepEqual(result.differences.slice(0, 3), [], `after space came back and a restart, B equals A (seed ${options.seed})`);
}

/** The state disk is read-only when the daemon starts: a fatal line naming the file, exit 2, nothing changed. */
export async function diskReadOnlyTrial(t: TestContext, options: { seed: number; changes: number }): Promise<void> {
  const result = await runDiskTrial({ ...options, fault: 'read-only', diskSize: '64m' });
  t.diagnostic(`read-only disk (seed ${options.seed}): exit ${String(result.afterFault)}, integrity ${result.integrity}, ${result.differences.length} differences`);
  assert.equal(result.afterFault, 2);
  const err = result.errorLine?.['err'] as { code?: string; message?: string } | undefined;
  assert.equal(err?.code, ErrorCodes.STATE_IO);
  assert.match(err?.message ?? '', /a\.db: cannot be read and written .*read-only file system/);
  assert.equal(result.integrity, 'ok', 'PRAGMA integrity_check');
  assert.deepEqual(result.differences.slice(0, 3), [], `after the disk is writable again, B equals A (seed ${options.seed})`);
}
