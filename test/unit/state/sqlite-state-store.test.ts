import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openStateStore, type SqliteStateStore } from '../../../src/state/index.js';
import { ManualClock, outboundItem, outboundItems } from './helpers.js';

function memoryStore(clock = new ManualClock()): SqliteStateStore {
  return openStateStore(':memory:', { clock });
}

describe('outbound log', () => {
  it('assigns dense, increasing bigint seqs across batches', () => {
    const store = memoryStore();
    assert.deepEqual(store.appendOutbound(outboundItems(1, 3)), [1n, 2n, 3n]);
    assert.deepEqual(store.appendOutbound(outboundItems(4, 2)), [4n, 5n]);
    assert.deepEqual(store.appendOutbound([]), []);
    assert.equal(store.lastOutboundSeq(), 5n);
    assert.equal(store.outboundDepth(), 5);
  });

  it('starts empty', () => {
    const store = memoryStore();
    assert.equal(store.lastOutboundSeq(), 0n);
    assert.equal(store.outboundDepth(), 0);
    assert.deepEqual(store.readOutbound(0n, 10), []);
  });

  it('reads records back in seq order, after a seq, up to a limit', () => {
    const clock = new ManualClock(1_000);
    const store = memoryStore(clock);
    store.appendOutbound([outboundItem(1, ['a', 'b'])]);
    clock.time = 2_000;
    store.appendOutbound(outboundItems(2, 4));

    assert.deepEqual(store.readOutbound(0n, 1), [{ ...outboundItem(1, ['a', 'b']), seq: 1n, createdAt: 1_000 }]);
    const page = store.readOutbound(2n, 2);
    assert.deepEqual(page.map((record) => record.seq), [3n, 4n]);
    assert.deepEqual(page[0], { ...outboundItem(3), seq: 3n, createdAt: 2_000 });
    assert.deepEqual(store.readOutbound(5n, 10), []);
    assert.deepEqual(store.readOutbound(0n, 0), []);
    assert.equal(store.readOutbound(0n, Number.POSITIVE_INFINITY).length, 5);
  });

  it('never reuses a seq once the log is trimmed empty', () => {
    const clock = new ManualClock(1_000);
    const store = memoryStore(clock);
    store.appendOutbound(outboundItems(1, 3));
    assert.equal(store.trimOutbound([], 2_000), 3);
    assert.equal(store.outboundDepth(), 0);
    assert.equal(store.lastOutboundSeq(), 3n);
    assert.deepEqual(store.appendOutbound([outboundItem(4)]), [4n]);
  });

  it('keeps checkpoints per source', () => {
    const store = memoryStore();
    assert.equal(store.getCheckpoint('ldap'), undefined);
    store.setCheckpoint('ldap', 'cookie-1');
    store.setCheckpoint('couch', 'seq-9');
    store.setCheckpoint('ldap', 'cookie-2');
    assert.equal(store.getCheckpoint('ldap'), 'cookie-2');
    assert.equal(store.getCheckpoint('couch'), 'seq-9');
  });
});

describe('listings for pubsync status', () => {
  it('lists every checkpoint and every high-water mark with the time it was written', () => {
    const clock = new ManualClock();
    const store = memoryStore(clock);
    clock.time = 1_000;
    store.setCheckpoint('ldap', 'csn-1');
    store.setHighWater('from-b', 'b@localhost', 7n);
    clock.time = 2_000;
    store.setCheckpoint('couch', '12-abc');
    store.setHighWater('from-b', 'c@localhost', 3n);
    assert.deepEqual(store.listCheckpoints(), [
      { source: 'couch', checkpoint: '12-abc', updatedAt: 2_000 },
      { source: 'ldap', checkpoint: 'csn-1', updatedAt: 1_000 },
    ]);
    assert.deepEqual(store.listHighWater(), [
      { subscription: 'from-b', origin: 'b@localhost', seq: 7n, updatedAt: 1_000 },
      { subscription: 'from-b', origin: 'c@localhost', seq: 3n, updatedAt: 2_000 },
    ]);
  });
});

describe('transactions', () => {
  it('rolls back the log append and the checkpoint together when the body throws', () => {
    const store = memoryStore();
    store.appendOutbound([outboundItem(1)]);
    store.setCheckpoint('ldap', 'before');
    const failure = new Error('transform blew up');

    assert.throws(
      () =>
        store.transaction(() => {
          store.appendOutbound([outboundItem(2), outboundItem(3)]);
          store.setCheckpoint('ldap', 'after');
          store.putCaptured('ldap', 'uid=a', { globalId: 'g', hashes: {}, csns: {}, nodes: [], deleted: false });
          throw failure;
        }),
      (error) => error === failure,
    );
    assert.equal(store.outboundDepth(), 1);
    assert.equal(store.lastOutboundSeq(), 1n);
    assert.equal(store.getCheckpoint('ldap'), 'before');
    assert.equal(store.getCaptured('ldap', 'uid=a'), undefined);
  });

  it('commits everything and returns the body result', () => {
    const store = memoryStore();
    const seqs = store.transaction(() => {
      const appended = store.appendOutbound([outboundItem(1)]);
      store.setCheckpoint('ldap', 'c1');
      return appended;
    });
    assert.deepEqual(seqs, [1n]);
    assert.equal(store.getCheckpoint('ldap'), 'c1');
  });

  it('joins nested calls: an uncaught inner failure undoes the outer work too', () => {
    const store = memoryStore();
    assert.throws(() =>
      store.transaction(() => {
        store.setCheckpoint('outer', 'x');
        store.transaction(() => {
          store.setCheckpoint('inner', 'y');
          throw new Error('inner');
        });
      }),
    );
    assert.equal(store.getCheckpoint('outer'), undefined);
    assert.equal(store.getCheckpoint('inner'), undefined);
  });

  it('undoes only the inner work when the outer body catches the inner failure', () => {
    const store = memoryStore();
    store.transaction(() => {
      store.setCheckpoint('outer', 'x');
      assert.throws(() =>
        store.transaction(() => {
          store.appendOutbound([outboundItem(1)]);
          throw new Error('inner');
        }),
      );
      store.setCheckpoint('after', 'z');
    });
    assert.equal(store.getCheckpoint('outer'), 'x');
    assert.equal(store.getCheckpoint('after'), 'z');
    assert.equal(store.outboundDepth(), 0);
  });

  it('commits nested transactions only with the outer one', () => {
    const store = memoryStore();
    const result = store.transaction(() => {
      const inner = store.transaction(() => store.appendOutbound(outboundItems(1, 2)));
      store.setCheckpoint('ldap', 'c');
      return inner;
    });
    assert.deepEqual(result, [1n, 2n]);
    assert.equal(store.outboundDepth(), 2);
  });

  it('refuses an async body and rolls back what it did synchronously', () => {
    const store = memoryStore();
    assert.throws(
      () =>
        store.transaction(async () => {
          store.setCheckpoint('ldap', 'x');
          await Promise.resolve();
        }),
      TypeError,
    );
    assert.equal(store.getCheckpoint('ldap'), undefined);
  });
});

describe('captured objects', () => {
  it('round-trips and overwrites per source and key', () => {
    const store = memoryStore();
    const object = {
      globalId: 'urn:uuid:1',
      hashes: { cn: 'h1', 'child:42': 'h2', 'attachment:photo.jpg': 'h3' },
      csns: { cn: 'csn-1' },
      nodes: ['people/all', 'people/approved'],
      deleted: false,
    };
    assert.equal(store.getCaptured('ldap', 'uid=a'), undefined);
    store.putCaptured('ldap', 'uid=a', object);
    assert.deepEqual(store.getCaptured('ldap', 'uid=a'), object);
    assert.equal(store.getCaptured('couch', 'uid=a'), undefined);

    const tombstone = { ...object, hashes: {}, deleted: true };
    store.putCaptured('ldap', 'uid=a', tombstone);
    assert.deepEqual(store.getCaptured('ldap', 'uid=a'), tombstone);
  });
});

describe('applied objects', () => {
  const live = { globalId: 'g1', localKey: 'uid=a', csns: { cn: 'c1' }, csn: 'c1', deleted: false };

  it('round-trips by global id and by local key, per sink', () => {
    const store = memoryStore();
    store.putApplied('ldap', live);
    assert.deepEqual(store.getApplied('ldap', 'g1'), live);
    assert.deepEqual(store.findAppliedByKey('ldap', 'uid=a'), live);
    assert.equal(store.getApplied('couch', 'g1'), undefined);
    assert.equal(store.findAppliedByKey('couch', 'uid=a'), undefined);
    assert.equal(store.findAppliedByKey('ldap', 'uid=b'), undefined);
  });

  it('keeps an absent local key absent', () => {
    const store = memoryStore();
    const keyless = { ...live, localKey: undefined };
    store.putApplied('ldap', keyless);
    assert.deepEqual(store.getApplied('ldap', 'g1'), keyless);
  });

  it('overwrites and follows a key change', () => {
    const store = memoryStore();
    store.putApplied('ldap', live);
    const moved = { ...live, localKey: 'uid=renamed', csn: 'c2' };
    store.putApplied('ldap', moved);
    assert.deepEqual(store.getApplied('ldap', 'g1'), moved);
    assert.equal(store.findAppliedByKey('ldap', 'uid=a'), undefined);
    assert.deepEqual(store.findAppliedByKey('ldap', 'uid=renamed'), moved);
  });

  it('finds the live object when a local key was reused after a delete', () => {
    const clock = new ManualClock(1_000);
    const store = memoryStore(clock);
    store.putApplied('ldap', { ...live, globalId: 'g-new' });
    clock.time = 2_000;
    store.putApplied('ldap', { ...live, globalId: 'g-old', deleted: true });
    assert.equal(store.findAppliedByKey('ldap', 'uid=a')?.globalId, 'g-new');
  });

  it('counts and purges applied and captured tombstones by age, leaving live objects', () => {
    const clock = new ManualClock(100);
    const store = memoryStore(clock);
    store.putApplied('ldap', { ...live, globalId: 'old', deleted: true });
    store.putCaptured('ldap', 'uid=x', { globalId: 'old', hashes: {}, csns: {}, nodes: [], deleted: true });
    clock.time = 200;
    store.putApplied('ldap', { ...live, globalId: 'recent', deleted: true });
    store.putApplied('couch', { ...live, globalId: 'alive' });
    assert.equal(store.countTombstones(), 3);

    assert.equal(store.purgeTombstones(150), 2);
    assert.equal(store.countTombstones(), 1);
    assert.equal(store.getApplied('ldap', 'old'), undefined);
    assert.ok(store.getApplied('ldap', 'recent'));
    assert.ok(store.getApplied('couch', 'alive'));
    assert.equal(store.getCaptured('ldap', 'uid=x'), undefined);
    assert.equal(store.purgeTombstones(200), 0, 'olderThan is exclusive');
  });
});

describe('high-water marks and peer acks', () => {
  it('defaults high water to 0n and keeps it per subscription and origin', () => {
    const store = memoryStore();
    assert.equal(store.getHighWater('sub', 'replica-1'), 0n);
    store.setHighWater('sub', 'replica-1', 10n);
    store.setHighWater('sub', 'replica-2', 20n);
    store.setHighWater('other', 'replica-1', 30n);
    store.setHighWater('sub', 'replica-1', 11n);
    assert.equal(store.getHighWater('sub', 'replica-1'), 11n);
    assert.equal(store.getHighWater('sub', 'replica-2'), 20n);
    assert.equal(store.getHighWater('other', 'replica-1'), 30n);
  });

  it('keeps seqs above 2^53 exact', () => {
    const store = memoryStore();
    const big = 2n ** 63n - 1n;
    store.setHighWater('sub', 'r', big);
    store.setPeerAck('peer', big - 1n);
    assert.equal(store.getHighWater('sub', 'r'), big);
    assert.equal(store.peerAcks().get('peer'), big - 1n);
  });

  it('lists peer acks, last write wins', () => {
    const store = memoryStore();
    assert.equal(store.peerAcks().size, 0);
    store.setPeerAck('b@example.org', 5n);
    store.setPeerAck('a@example.org', 7n);
    store.setPeerAck('b@example.org', 3n);
    assert.deepEqual(
      store.peerAcks(),
      new Map([
        ['a@example.org', 7n],
        ['b@example.org', 3n],
      ]),
    );
  });
});

describe('trimOutbound', () => {
  const now = 10_000;

  function logOfTen(): SqliteStateStore {
    const store = memoryStore(new ManualClock(now));
    store.appendOutbound(outboundItems(1, 10));
    return store;
  }

  it('deletes up to the smallest ack of the listed peers', () => {
    const store = logOfTen();
    store.setPeerAck('p1', 5n);
    store.setPeerAck('p2', 3n);
    assert.equal(store.trimOutbound(['p1', 'p2'], 0), 3);
    assert.equal(store.readOutbound(0n, 1)[0]?.seq, 4n);
  });

  it('ignores the acks of peers that are not listed', () => {
    const store = logOfTen();
    store.setPeerAck('p1', 5n);
    store.setPeerAck('gone', 1n);
    assert.equal(store.trimOutbound(['p1'], 0), 5);
  });

  it('keeps everything while a listed peer has never acknowledged', () => {
    const store = logOfTen();
    store.setPeerAck('p1', 5n);
    assert.equal(store.trimOutbound(['p1', 'new-peer'], 0), 0);
    assert.equal(store.outboundDepth(), 10);
  });

  it('keeps everything with no peers listed, apart from retention', () => {
    const store = logOfTen();
    store.setPeerAck('p1', 10n);
    assert.equal(store.trimOutbound([], 0), 0);
    assert.equal(store.trimOutbound([], now + 1), 10);
  });

  it('deletes records older than the retention limit regardless of acks', () => {
    const clock = new ManualClock(1_000);
    const store = memoryStore(clock);
    store.appendOutbound(outboundItems(1, 4));
    clock.time = 2_000;
    store.appendOutbound(outboundItems(5, 4));
    store.setPeerAck('p1', 6n);
    store.setPeerAck('slow', 0n);

    assert.equal(store.trimOutbound(['p1', 'slow'], 1_000), 0, 'olderThan is exclusive');
    assert.equal(store.trimOutbound(['p1', 'slow'], 1_500), 4);
    // Acked by p1 and old records overlap: each record counted once.
    store.setPeerAck('slow', 6n);
    assert.equal(store.trimOutbound(['p1', 'slow'], 1_500), 2);
    assert.deepEqual(store.readOutbound(0n, 10).map((record) => record.seq), [7n, 8n]);
    assert.equal(store.lastOutboundSeq(), 8n);
  });
});

describe('dead letters', () => {
  const base = { where: 'sink:ldap', code: 'PUBSYNC_ERR_SINK_REJECTED', message: 'no such attribute' };

  it('round-trips string payloads as strings and binary payloads as bytes', () => {
    const store = memoryStore(new ManualClock(5_000));
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const text = '<entry>héllo 😀 \u0000 end</entry>';
    const textId = store.addDeadLetter({ ...base, entryId: 'urn:uuid:1', payload: text, details: { attr: 'x' } });
    const binaryId = store.addDeadLetter({ ...base, payload: bytes });
    const emptyTextId = store.addDeadLetter({ ...base, payload: '' });
    const emptyBinaryId = store.addDeadLetter({ ...base, payload: new Uint8Array(0) });

    assert.deepEqual(store.getDeadLetter(textId), {
      ...base,
      id: textId,
      createdAt: 5_000,
      entryId: 'urn:uuid:1',
      payload: text,
      details: { attr: 'x' },
      retries: 0,
    });
    assert.deepEqual(store.getDeadLetter(binaryId), { ...base, id: binaryId, createdAt: 5_000, payload: bytes, retries: 0 });
    assert.equal(store.getDeadLetter(emptyTextId)?.payload, '');
    assert.deepEqual(store.getDeadLetter(emptyBinaryId)?.payload, new Uint8Array(0));
  });

  it('returns binary payloads as plain Uint8Arrays of their own', () => {
    const store = memoryStore();
    const id = store.addDeadLetter({ ...base, payload: Buffer.from([1, 2, 3]) });
    const payload = store.getDeadLetter(id)?.payload;
    assert.ok(payload instanceof Uint8Array && !Buffer.isBuffer(payload));
    assert.equal(payload.buffer.byteLength, 3);
  });

  it('records details JSON cannot express instead of failing', () => {
    const store = memoryStore();
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const withBigint = store.addDeadLetter({ ...base, payload: 'x', details: { seq: 12n, error: new Error('boom') } });
    const withCycle = store.addDeadLetter({ ...base, payload: 'x', details: circular });
    assert.deepEqual(store.getDeadLetter(withBigint)?.details, { seq: '12', error: { name: 'Error', message: 'boom' } });
    assert.equal(typeof store.getDeadLetter(withCycle)?.details?.unserializable, 'string');
  });

  it('lists in id order by pages, counts, marks retries and deletes', () => {
    const store = memoryStore();
    const ids = [1, 2, 3, 4, 5].map((n) => store.addDeadLetter({ ...base, payload: `p${n}` }));
    assert.equal(store.countDeadLetters(), 5);
    assert.deepEqual(store.listDeadLetters({ limit: 2 }).map((letter) => letter.id), ids.slice(0, 2));
    assert.deepEqual(store.listDeadLetters({ afterId: ids[1], limit: 2 }).map((letter) => letter.id), ids.slice(2, 4));
    assert.deepEqual(store.listDeadLetters().map((letter) => letter.id), ids);
    assert.deepEqual(store.listDeadLetters({ limit: 0 }), []);

    store.markRetried(ids[0] as number);
    store.markRetried(ids[0] as number);
    assert.equal(store.getDeadLetter(ids[0] as number)?.retries, 2);

    assert.equal(store.deleteDeadLetter(ids[4] as number), true);
    assert.equal(store.deleteDeadLetter(ids[4] as number), false);
    assert.equal(store.getDeadLetter(ids[4] as number), undefined);
    assert.equal(store.countDeadLetters(), 4);
  });

  it('never hands out the id of a deleted letter again', () => {
    const store = memoryStore();
    const first = store.addDeadLetter({ ...base, payload: 'a' });
    store.deleteDeadLetter(first);
    assert.ok(store.addDeadLetter({ ...base, payload: 'b' }) > first);
  });
});

describe('conflicts', () => {
  it('adds, lists by pages and counts by kind', () => {
    const store = memoryStore(new ManualClock(42));
    const conflict = { kind: 'conflict', where: 'sink:ldap', globalId: 'g1', details: { field: 'cn' } } as const;
    const collision = { kind: 'collision', where: 'sink:couch', globalId: 'g2', details: { key: 'doc-1' } } as const;
    const first = store.addConflict(conflict);
    const second = store.addConflict(collision);
    store.addConflict(conflict);

    assert.deepEqual(store.listConflicts({ limit: 1 }), [{ ...conflict, id: first, createdAt: 42 }]);
    assert.deepEqual(store.listConflicts({ afterId: first, limit: 1 }), [{ ...collision, id: second, createdAt: 42 }]);
    assert.equal(store.listConflicts().length, 3);
    assert.equal(store.countConflicts(), 3);
    assert.equal(store.countConflicts('conflict'), 2);
    assert.equal(store.countConflicts('collision'), 1);
  });
});

describe('plugin key-value state', () => {
  it('gets, overwrites and deletes per scope', () => {
    const store = memoryStore();
    assert.equal(store.kvGet('ldap', 'k'), undefined);
    store.kvPut('ldap', 'k', 'v1');
    store.kvPut('couch', 'k', 'other');
    store.kvPut('ldap', 'k', 'v2');
    assert.equal(store.kvGet('ldap', 'k'), 'v2');
    assert.equal(store.kvGet('couch', 'k'), 'other');
    store.kvDelete('ldap', 'k');
    store.kvDelete('ldap', 'never-there');
    assert.equal(store.kvGet('ldap', 'k'), undefined);
    assert.equal(store.kvGet('couch', 'k'), 'other');
  });

  it('matches prefixes literally: % _ \\ and quotes are not wildcards', () => {
    const store = memoryStore();
    for (const key of ['a%b', 'aXb', 'a_b', 'aab', 'a\\b', "a'b", 'a%', 'a']) store.kvPut('s', key, key);
    const keys = (prefix: string) => store.kvEntries('s', prefix, undefined, 100).map(([key]) => key);
    assert.deepEqual(keys('a%'), ['a%', 'a%b']);
    assert.deepEqual(keys('a_'), ['a_b']);
    assert.deepEqual(keys('a\\'), ['a\\b']);
    assert.deepEqual(keys("a'"), ["a'b"]);
    assert.deepEqual(keys('A'), [], 'case-sensitive');
    assert.equal(keys('').length, 8);
  });

  it('orders and bounds by code point, beyond the BMP and at U+10FFFF', () => {
    const store = memoryStore();
    const keys = ['p', 'p\u0000', 'p\uFFFF', 'p\u{10000}', 'p\u{10FFFF}', 'p\u{10FFFF}\u{10FFFF}z', 'q', '\u{10FFFF}'];
    for (const key of keys) store.kvPut('s', key, 'v');
    const entries = (prefix: string, after?: string) => store.kvEntries('s', prefix, after, 100).map(([key]) => key);
    assert.deepEqual(entries('p'), keys.slice(0, 6));
    assert.deepEqual(entries('p\u{10FFFF}'), ['p\u{10FFFF}', 'p\u{10FFFF}\u{10FFFF}z']);
    assert.deepEqual(entries('\u{10FFFF}'), ['\u{10FFFF}']);
    assert.deepEqual(entries('p', 'p\uFFFF'), ['p\u{10000}', 'p\u{10FFFF}', 'p\u{10FFFF}\u{10FFFF}z']);
    assert.deepEqual(entries('p', 'p'), keys.slice(1, 6));
  });

  it('pages with afterKey, including an afterKey outside the prefix', () => {
    const store = memoryStore();
    for (let i = 0; i < 25; i += 1) store.kvPut('s', `item:${String(i).padStart(2, '0')}`, String(i));
    store.kvPut('s', 'other', 'x');

    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = store.kvEntries('s', 'item:', after, 10);
      if (page.length === 0) break;
      seen.push(...page.map(([key]) => key));
      after = page.at(-1)?.[0];
    }
    assert.equal(seen.length, 25);
    assert.deepEqual(seen, [...seen].sort());
    assert.equal(store.kvEntries('s', 'item:', 'a', 1)[0]?.[0], 'item:00', 'afterKey before the prefix');
    assert.deepEqual(store.kvEntries('s', 'item:', 'z', 10), [], 'afterKey after the prefix');
    assert.deepEqual(store.kvEntries('s', 'item:', undefined, 0), []);
    assert.deepEqual(store.kvEntries('s', 'item:1', undefined, 2), [
      ['item:10', '10'],
      ['item:11', '11'],
    ]);
  });
});

describe('close', () => {
  it('can be called twice', () => {
    const store = memoryStore();
    store.close();
    store.close();
  });
});
