import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openStateStore, type OutboundItem } from '../../../src/state/index.js';
import { ManualClock } from './helpers.js';

const DAY = 86_400_000;

function record(id: string, rev: number, tombstone = false): OutboundItem {
  return { entryId: `urn:uuid:${id}`, csn: `csn-${rev}`, nodes: ['people'], payload: `<entry rev="${rev}"/>`, tombstone };
}

describe('tombstone purge', () => {
  it('drops a tombstone from the log once every peer acknowledged it, not before', () => {
    const store = openStateStore(':memory:', { clock: new ManualClock() });
    store.appendOutbound([record('a', 1), record('a', 2, true), record('b', 1), record('c', 1, true)]); // 1..4
    const peers = ['p@x', 'q@x'];
    const longAgo = 0;
    store.setPeerAck('p@x', 4n);
    assert.equal(store.purgeLogTombstones(peers, longAgo), 0, 'q has not acknowledged anything');
    store.setPeerAck('q@x', 2n);
    assert.equal(store.purgeLogTombstones(peers, longAgo), 1, "a's tombstone (seq 2) is acknowledged by both");
    assert.deepEqual(
      store.readOutbound(0n, 10).map((r) => r.seq),
      [1n, 3n, 4n],
      "a live record and c's unacknowledged tombstone stay (compaction, not this purge, drops superseded records)",
    );
    assert.equal(store.compactedThrough(), 2n, 'a peer positioned before the purged tombstone gets a snapshot');
  });

  it('drops an unacknowledged log tombstone after the retention, and never a live newest record', () => {
    const clock = new ManualClock();
    const store = openStateStore(':memory:', { clock });
    store.appendOutbound([record('a', 1, true), record('b', 1)]);
    clock.time += 31 * DAY;
    assert.equal(store.purgeLogTombstones(['never@x'], clock.time - 30 * DAY), 1);
    assert.deepEqual(store.readOutbound(0n, 10).map((r) => r.entryId), ['urn:uuid:b']);
  });

  it('forgets applied and captured deletes after the retention and counts those pending', () => {
    const clock = new ManualClock();
    const store = openStateStore(':memory:', { clock });
    store.putApplied('couch', { globalId: 'g1', localKey: 'k1', csns: {}, csn: 'c2', deleted: true, tombstone: 'c2' });
    store.putApplied('couch', { globalId: 'g2', localKey: 'k2', csns: { a: 'c3' }, csn: 'c3', deleted: false, tombstone: 'c1' });
    store.putCaptured('couch', 'couchdb:k3', { globalId: 'g3', hashes: {}, csns: {}, nodes: [], deleted: true, tombstone: 'c4' });
    assert.equal(store.countTombstones(), 2, 'g2 lives on after its delete: not a pending tombstone');
    clock.time += 10 * DAY;
    store.putCaptured('couch', 'couchdb:k4', { globalId: 'g4', hashes: {}, csns: {}, nodes: [], deleted: true, tombstone: 'c5' });
    assert.equal(store.purgeTombstones(clock.time - 5 * DAY), 2);
    assert.equal(store.countTombstones(), 1);
    assert.equal(store.getApplied('couch', 'g1'), undefined);
    assert.equal(store.getApplied('couch', 'g2')?.tombstone, 'c1', 'a live object keeps the CSN of its delete');
    assert.ok(store.getCaptured('couch', 'couchdb:k4'));
  });
});
