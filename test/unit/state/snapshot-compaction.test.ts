import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { openStateStore, type OutboundItem, type SqliteStateStore } from '../../../src/state/index.js';
import { ManualClock, tempDirectory } from './helpers.js';

function memoryStore(clock = new ManualClock()): SqliteStateStore {
  return openStateStore(':memory:', { clock });
}

/** A revision of entry `id`; `rev` only tells revisions apart. */
function revision(id: string, rev: number, nodes: readonly string[] = ['people']): OutboundItem {
  return { entryId: `urn:uuid:${id}`, csn: `csn-${id}-${rev}`, nodes, payload: `<entry id="${id}" rev="${rev}"/>` };
}

describe('readSnapshot', () => {
  it('returns only the newest record of each entry, tombstones included, in seq order', () => {
    const store = memoryStore();
    store.appendOutbound([revision('a', 1), revision('b', 1), revision('a', 2)]); // 1, 2, 3
    store.appendOutbound([revision('c', 1), revision('b', 2), revision('a', 3)]); // 4, 5, 6
    // b's last revision stands in for a tombstone: the store does not look inside payloads.
    const snapshot = store.readSnapshot(0n, 100);
    assert.deepEqual(snapshot.map((r) => [r.seq, r.entryId, r.csn]), [
      [4n, 'urn:uuid:c', 'csn-c-1'],
      [5n, 'urn:uuid:b', 'csn-b-2'],
      [6n, 'urn:uuid:a', 'csn-a-3'],
    ]);
  });

  it('pages by seq: after a seq, up to a limit, without repeating or losing an entry', () => {
    const store = memoryStore();
    for (let rev = 1; rev <= 50; rev += 1) store.appendOutbound([revision('hot', rev)]);
    store.appendOutbound(Array.from({ length: 10 }, (_, i) => revision(`cold-${i}`, 1)));
    const seen: string[] = [];
    let after = 0n;
    for (;;) {
      const page = store.readSnapshot(after, 3);
      if (page.length === 0) break;
      assert.ok(page.length <= 3);
      seen.push(...page.map((r) => r.entryId));
      after = page.at(-1)?.seq ?? after;
    }
    assert.equal(seen.length, 11);
    assert.equal(new Set(seen).size, 11);
    assert.deepEqual(store.readSnapshot(0n, 1)[0]?.csn, 'csn-hot-50');
    assert.deepEqual(store.readSnapshot(0n, 0), []);
  });

  it('skips an entry whose newest record is at or before afterSeq', () => {
    const store = memoryStore();
    store.appendOutbound([revision('a', 1), revision('b', 1), revision('b', 2)]);
    assert.deepEqual(store.readSnapshot(1n, 10).map((r) => r.entryId), ['urn:uuid:b']);
    assert.deepEqual(store.readSnapshot(3n, 10), []);
  });
});

describe('oldestOutboundSeq', () => {
  it('is undefined for an empty log and follows trimming', () => {
    const clock = new ManualClock(1_000);
    const store = memoryStore(clock);
    assert.equal(store.oldestOutboundSeq(), undefined);
    store.appendOutbound([revision('a', 1), revision('a', 2), revision('b', 1)]);
    assert.equal(store.oldestOutboundSeq(), 1n);
    store.compactOutbound([], 2_000);
    assert.equal(store.oldestOutboundSeq(), 2n);
    store.trimOutbound([], 2_000);
    assert.equal(store.oldestOutboundSeq(), undefined);
    assert.equal(store.lastOutboundSeq(), 3n);
  });
});

describe('compactOutbound', () => {
  it('deletes superseded records past the retention and keeps the newest of each entry however old', () => {
    const clock = new ManualClock(1_000);
    const store = memoryStore(clock);
    store.appendOutbound([revision('a', 1), revision('b', 1), revision('a', 2), revision('c', 1)]);
    clock.time = 5_000;
    store.appendOutbound([revision('b', 2)]);
    assert.equal(store.compactOutbound([], 1_000), 0, 'olderThan is exclusive');
    assert.equal(store.compactOutbound([], 2_000), 2);
    assert.deepEqual(store.readOutbound(0n, 10).map((r) => r.seq), [3n, 4n, 5n]);
    assert.deepEqual(store.readSnapshot(0n, 10).map((r) => r.csn), ['csn-a-2', 'csn-c-1', 'csn-b-2']);
    assert.equal(store.compactOutbound([], 10_000), 0, 'nothing left to supersede');
  });

  it('deletes superseded records every listed peer acknowledged, and none while one never did', () => {
    const store = memoryStore();
    store.appendOutbound([revision('a', 1), revision('a', 2), revision('b', 1), revision('b', 2), revision('a', 3)]);
    store.setPeerAck('p1', 4n);
    assert.equal(store.compactOutbound(['p1', 'never'], 0), 0);
    store.setPeerAck('p2', 2n);
    assert.equal(store.compactOutbound(['p1', 'p2'], 0), 2, 'seqs 1 and 2: both superseded, both acked');
    store.setPeerAck('p2', 4n);
    assert.equal(store.compactOutbound(['p1', 'p2'], 0), 1, 'seq 3 (b rev 1); seq 4 is b newest');
    assert.deepEqual(store.readOutbound(0n, 10).map((r) => r.seq), [4n, 5n]);
  });

  it('stops at the limit, so a caller can compact a long log in steps', () => {
    const clock = new ManualClock(1_000);
    const store = memoryStore(clock);
    for (let rev = 1; rev <= 25; rev += 1) store.appendOutbound([revision('hot', rev)]);
    clock.time = 9_000;
    assert.equal(store.compactOutbound([], 9_000, 10), 10);
    assert.equal(store.compactOutbound([], 9_000, 10), 10);
    assert.equal(store.compactOutbound([], 9_000, 10), 4);
    assert.equal(store.compactOutbound([], 9_000, 10), 0);
    assert.deepEqual(store.readOutbound(0n, 10).map((r) => r.csn), ['csn-hot-25']);
    assert.equal(store.compactOutbound([], 9_000, 0), 0);
  });
});

describe('schema v2', () => {
  it('indexes the outbound log by entry and seq, and the snapshot query uses that index', () => {
    const dir = tempDirectory();
    try {
      const file = dir.file('state.db');
      openStateStore(file).close();
      const db = new Database(file, { readonly: true });
      try {
        const columns = db.prepare("SELECT name FROM pragma_index_info('outbound_log_entry')").pluck().all();
        assert.deepEqual(columns, ['entry_id', 'seq']);
        const plan = db
          .prepare(
            `EXPLAIN QUERY PLAN SELECT seq FROM outbound_log AS o WHERE o.seq > 0
               AND NOT EXISTS (SELECT 1 FROM outbound_log AS n WHERE n.entry_id = o.entry_id AND n.seq > o.seq)
             ORDER BY o.seq LIMIT 10`,
          )
          .all()
          .map((row) => String((row as { detail: string }).detail));
        assert.ok(plan.some((step) => /outbound_log_entry/.test(step)), `plan: ${plan.join(' | ')}`);
      } finally {
        db.close();
      }
    } finally {
      dir.remove();
    }
  });
});

describe('compactedThrough', () => {
  it('is the highest seq compaction deleted, kept across calls and reopenings', () => {
    const dir = tempDirectory();
    try {
      const file = dir.file('state.db');
      const clock = new ManualClock(1_000);
      const store = openStateStore(file, { clock });
      assert.equal(store.compactedThrough(), 0n);
      store.appendOutbound([revision('a', 1), revision('b', 1), revision('a', 2), revision('b', 2), revision('c', 1)]);
      assert.equal(store.compactOutbound([], 1_000), 0);
      assert.equal(store.compactedThrough(), 0n, 'nothing deleted, nothing moves');
      assert.equal(store.compactOutbound([], 2_000, 1), 1);
      assert.equal(store.compactedThrough(), 1n);
      assert.equal(store.compactOutbound([], 2_000), 1);
      assert.equal(store.compactedThrough(), 2n);
      store.close();
      const again = openStateStore(file, { clock });
      assert.equal(again.compactedThrough(), 2n);
      assert.equal(again.compactOutbound([], 2_000), 0);
      assert.equal(again.compactedThrough(), 2n);
      again.close();
    } finally {
      dir.remove();
    }
  });
});
