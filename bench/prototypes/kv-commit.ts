/**
 * Prototype measurement (not a benchmark module): the cost of the CouchDB sink's per-document
 * PluginStore.put (one SQLite autocommit each, synchronous=FULL, WAL) against the same puts in
 * one transaction per batch, and against autocommits with synchronous=NORMAL, on a real state
 * database in a temp dir: `node --import tsx bench/prototypes/kv-commit.ts [puts]`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStateStore } from '../../src/state/index.js';

const N = Number(process.argv[2] ?? 5000);
const dir = mkdtempSync(join(tmpdir(), 'pubsync-kv-'));
try {
  const store = openStateStore(join(dir, 'state.db'));
  let t = performance.now();
  for (let i = 0; i < N; i++) store.kvPut('shared:couch', `rev:doc-${i}`, `1-${i}`);
  const single = (performance.now() - t) / N;
  t = performance.now();
  for (let b = 0; b < N; b += 100) store.transaction(() => {
    for (let i = b; i < b + 100; i++) store.kvPut('shared:couch', `rev:doc2-${i}`, `1-${i}`);
  });
  const batched = (performance.now() - t) / N;
  store.close();
  const normal = openStateStore(join(dir, 'normal.db'), { synchronous: 'normal' });
  t = performance.now();
  for (let i = 0; i < N; i++) normal.kvPut('shared:couch', `rev:doc-${i}`, `1-${i}`);
  const relaxed = (performance.now() - t) / N;
  normal.close();
  process.stdout.write(
    `kvPut autocommit (synchronous=FULL, the default): ${(single * 1000).toFixed(0)} µs/put; in transactions of 100: ${(batched * 1000).toFixed(1)} µs/put (x${(single / batched).toFixed(0)}); autocommit with synchronous=NORMAL: ${(relaxed * 1000).toFixed(1)} µs/put (x${(single / relaxed).toFixed(0)})\n`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
