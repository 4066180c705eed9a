import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEntry } from '../../src/format/index.js';
import { openStateStore } from '../../src/state/index.js';

const child = fileURLToPath(new URL('../support/capture-child.ts', import.meta.url));
const dirs: string[] = [];
after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function freshDb(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pubsync-crash-'));
  dirs.push(dir);
  return join(dir, 'state.db');
}

function runChild(db: string, total: number, env: Record<string, string> = {}, killAfterMs?: number) {
  return new Promise<string | number | null>((resolve) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', child, db, String(total)], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const timer = killAfterMs === undefined ? undefined : setTimeout(() => proc.kill('SIGKILL'), killAfterMs);
    proc.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(signal ?? code);
    });
  });
}

/** Every change 0..total-1 must be in the log exactly once, in order (change i sets v = i). */
function assertExactlyOnce(db: string, total: number): void {
  const store = openStateStore(db);
  try {
    const values = store.readOutbound(0n, total + 100).map((record) => {
      const entry = parseEntry(record.payload);
      assert.equal(entry.deleted, false);
      const field = entry.deleted ? undefined : entry.fields.find((f) => f.name === 'v');
      return Number(field?.values[0]);
    });
    assert.deepEqual(values, Array.from({ length: total }, (_, i) => i));
    assert.equal(store.getCheckpoint('app'), String(total));
  } finally {
    store.close();
  }
}

describe('crash between capture and log commit', () => {
  it('loses nothing and captures nothing twice after a kill inside the commit', async () => {
    const db = freshDb();
    assert.equal(await runChild(db, 100, { CRASH_AT_BATCH: '5' }), 'SIGKILL');
    const store = openStateStore(db);
    assert.equal(store.getCheckpoint('app'), '28', 'the killed batch did not commit its checkpoint');
    assert.equal(store.outboundDepth(), 28, 'nor its log records');
    store.close();
    assert.equal(await runChild(db, 100), 0);
    assertExactlyOnce(db, 100);
  });

  it('survives kills at arbitrary moments', async () => {
    const db = freshDb();
    const total = 3000;
    // Seeded delays so that a failure can be replayed.
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    let kills = 0;
    for (let trial = 0; trial < 4; trial++) {
      if ((await runChild(db, total, {}, 350 + Math.floor(random() * 400))) === 'SIGKILL') kills++;
    }
    assert.equal(await runChild(db, total), 0);
    assertExactlyOnce(db, total);
    assert.ok(kills > 0, 'at least one run was killed mid-stream');
  });
});
