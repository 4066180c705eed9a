import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, statSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import type Database from 'better-sqlite3';
import { ErrorCodes, SyncError } from '../../../src/errors/index.js';
import { openStateStore, type SqliteStateStore } from '../../../src/state/index.js';
import { ManualClock, outboundItem, outboundItems, tempDirectory } from './helpers.js';

const directory = tempDirectory();
after(() => directory.remove());

let fileCounter = 0;
/** uid and gid of the unprivileged `nobody` user on Debian. */
const NOBODY = 65534;

function freshFile(): string {
  fileCounter += 1;
  return directory.file(`state-${fileCounter}.db`);
}

/** The connection behind a store, for tests that must provoke SQLite failures. */
function rawDatabase(store: SqliteStateStore): Database.Database {
  return (store as unknown as { db: Database.Database }).db;
}

function fileMode(path: string): number {
  return statSync(path).mode & 0o777;
}

function isStateError(code: string, kind: string, mentioning: string) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof SyncError, `expected a SyncError, got ${String(error)}`);
    assert.equal(error.code, code);
    assert.equal(error.kind, kind);
    assert.ok(error.message.includes(mentioning), `"${error.message}" should mention ${mentioning}`);
    return true;
  };
}

describe('file permissions', () => {
  let previousUmask: number;
  before(() => {
    previousUmask = process.umask();
  });
  after(() => {
    process.umask(previousUmask);
  });

  for (const umask of [0o000, 0o022, 0o277]) {
    it(`creates the database, -wal and -shm as 0600 under umask ${umask.toString(8).padStart(3, '0')}`, () => {
      process.umask(umask);
      const file = freshFile();
      const store = openStateStore(file);
      try {
        store.appendOutbound([outboundItem(1)]);
        for (const path of [file, `${file}-wal`, `${file}-shm`]) {
          assert.ok(existsSync(path), `${path} exists while open`);
          assert.equal(fileMode(path).toString(8), '600', path);
        }
      } finally {
        store.close();
        process.umask(previousUmask);
      }
    });
  }
});

describe('durability', () => {
  it('keeps everything across close and reopen, and seqs keep increasing', () => {
    const file = freshFile();
    const clock = new ManualClock(1_000);
    const first = openStateStore(file, { clock });
    first.transaction(() => {
      first.appendOutbound(outboundItems(1, 3));
      first.setCheckpoint('ldap', 'cookie');
    });
    first.trimOutbound([], 2_000);
    first.appendOutbound([outboundItem(4)]);
    first.putCaptured('ldap', 'uid=a', { globalId: 'g', hashes: { cn: 'h' }, csns: { cn: 'c' }, nodes: ['people'], deleted: false });
    first.putApplied('couch', { globalId: 'g', localKey: 'doc', csns: {}, csn: 'c', deleted: true });
    first.setHighWater('sub', 'origin', 99n);
    first.setPeerAck('peer', 4n);
    const letter = first.addDeadLetter({ where: 'transport', payload: new Uint8Array([0, 255]), code: 'X', message: 'm' });
    first.addConflict({ kind: 'collision', where: 'sink:couch', globalId: 'g', details: {} });
    first.kvPut('scope', 'key', 'value');
    first.close();

    const second = openStateStore(file, { clock });
    try {
      assert.equal(second.lastOutboundSeq(), 4n);
      assert.deepEqual(second.readOutbound(0n, 10), [{ ...outboundItem(4), seq: 4n, createdAt: 1_000 }]);
      assert.deepEqual(second.appendOutbound([outboundItem(5)]), [5n]);
      assert.equal(second.getCheckpoint('ldap'), 'cookie');
      assert.deepEqual(second.getCaptured('ldap', 'uid=a')?.hashes, { cn: 'h' });
      assert.equal(second.countTombstones(), 1);
      assert.equal(second.getHighWater('sub', 'origin'), 99n);
      assert.equal(second.peerAcks().get('peer'), 4n);
      assert.deepEqual(second.getDeadLetter(letter)?.payload, new Uint8Array([0, 255]));
      assert.equal(second.countConflicts('collision'), 1);
      assert.equal(second.kvGet('scope', 'key'), 'value');
    } finally {
      second.close();
    }
  });

  it('uses WAL, the chosen synchronous level, foreign keys and the busy timeout', () => {
    for (const [synchronous, level] of [
      ['full', 2],
      ['normal', 1],
    ] as const) {
      const store = openStateStore(freshFile(), { synchronous, busyTimeoutMs: 1_234 });
      const db = rawDatabase(store);
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      assert.equal(db.pragma('synchronous', { simple: true }), level);
      assert.equal(db.pragma('foreign_keys', { simple: true }), 1);
      assert.equal(db.pragma('busy_timeout', { simple: true }), 1_234);
      store.close();
    }
  });

  it('loses no committed change when the process is killed with SIGKILL (synchronous NORMAL)', () => {
    const file = freshFile();
    const module = pathToFileURL(new URL('../../../src/state/index.ts', import.meta.url).pathname).href;
    const script = `
      import { openStateStore } from ${JSON.stringify(module)};
      const store = openStateStore(${JSON.stringify(file)}, { synchronous: 'normal' });
      for (let batch = 0; batch < 20; batch += 1) {
        store.transaction(() => {
          const items = Array.from({ length: 50 }, (_, i) => ({ entryId: 'e' + i, csn: 'c', nodes: ['n'], payload: 'p' }));
          store.appendOutbound(items);
          store.setCheckpoint('ldap', 'batch-' + batch);
        });
      }
      process.kill(process.pid, 'SIGKILL');
    `;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    assert.equal(child.signal, 'SIGKILL', child.stderr);

    const store = openStateStore(file);
    try {
      assert.equal(store.lastOutboundSeq(), 1_000n);
      assert.equal(store.outboundDepth(), 1_000);
      assert.equal(store.getCheckpoint('ldap'), 'batch-19');
    } finally {
      store.close();
    }
  });
});

describe('open failures', () => {
  it('names the missing directory', () => {
    const file = directory.file('no/such/dir/state.db');
    assert.throws(() => openStateStore(file), isStateError(ErrorCodes.STATE_IO, 'config', 'no/such/dir'));
  });

  it('refuses a directory path whose parent is a file', () => {
    const parent = freshFile();
    writeFileSync(parent, 'x');
    assert.throws(() => openStateStore(`${parent}/state.db`), isStateError(ErrorCodes.STATE_IO, 'config', 'not a directory'));
  });

  it('reports a file that is not a database as a fatal I/O error naming the file', () => {
    const file = freshFile();
    writeFileSync(file, Buffer.alloc(8192, 'garbage!'));
    assert.throws(() => openStateStore(file), isStateError(ErrorCodes.STATE_IO, 'config', file));
  });

  it('refuses a read-only database file, naming it', () => {
    const file = freshFile();
    openStateStore(file).close();
    chmodSync(file, 0o400);
    // Root ignores file modes, so as root the attempt runs in a child process as an ordinary user
    // that owns the read-only file.
    const asRoot = process.getuid?.() === 0;
    if (asRoot) {
      chownSync(file, NOBODY, NOBODY);
      chmodSync(dirname(file), 0o755);
    }
    const script = `
      import { openStateStore } from ${JSON.stringify(pathToFileURL(`${process.cwd()}/src/state/index.ts`).href)};
      try {
        const store = openStateStore(${JSON.stringify(file)});
        try { store.setCheckpoint('s', 'c'); } finally { store.close(); }
        console.log(JSON.stringify({ ok: true }));
      } catch (error) {
        console.log(JSON.stringify({ code: error.code, kind: error.kind, message: error.message }));
      }`;
    const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      ...(asRoot ? { uid: NOBODY, gid: NOBODY, env: { ...process.env, HOME: '/tmp' } } : {}),
    });
    const outcome = JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, string>;
    assert.equal(outcome['code'], ErrorCodes.STATE_IO, result.stderr);
    assert.equal(outcome['kind'], 'config');
    assert.ok(outcome['message']?.includes(file), outcome['message']);
    assert.match(outcome['message'] ?? '', /cannot be read and written|read-only|readonly/i);
  });
});

describe('write failures', () => {
  /** Caps the database size so that the next large write fails with SQLITE_FULL. */
  function nearlyFullStore(): SqliteStateStore {
    const store = openStateStore(freshFile());
    store.setCheckpoint('ldap', 'before');
    const db = rawDatabase(store);
    db.pragma(`max_page_count = ${(db.pragma('page_count', { simple: true }) as number) + 2}`);
    return store;
  }
  const bigBatch = Array.from({ length: 200 }, (_, i) => ({ ...outboundItem(i), payload: 'x'.repeat(1_000) }));

  it('reports a full disk as a transient error naming the file, and changes nothing', () => {
    const store = nearlyFullStore();
    try {
      assert.throws(() => store.appendOutbound(bigBatch), (error: unknown) => {
        isStateError(ErrorCodes.STATE_IO, 'transient', store.file)(error);
        assert.ok((error as SyncError).retryAfterMs);
        assert.equal((error as SyncError).details.sqliteCode, 'SQLITE_FULL');
        return true;
      });
      assert.equal(store.outboundDepth(), 0);
      assert.equal(store.lastOutboundSeq(), 0n);
    } finally {
      store.close();
    }
  });

  it('does not commit half a transaction whose body swallowed a rollback-causing error', () => {
    const store = nearlyFullStore();
    try {
      assert.throws(
        () =>
          store.transaction(() => {
            store.setCheckpoint('ldap', 'after');
            assert.throws(() => store.appendOutbound(bigBatch), SyncError);
            // SQLite rolled the whole transaction back: this write would otherwise autocommit.
            store.kvPut('scope', 'key', 'value');
          }),
        isStateError(ErrorCodes.STATE_IO, 'transient', 'rolled back'),
      );
      assert.equal(store.getCheckpoint('ldap'), 'before');
      assert.equal(store.kvGet('scope', 'key'), undefined);

      // The store is usable again afterwards, and the retry succeeds once there is room.
      rawDatabase(store).pragma('max_page_count = 1000000');
      store.transaction(() => {
        store.setCheckpoint('ldap', 'after');
        store.appendOutbound(bigBatch);
      });
      assert.equal(store.getCheckpoint('ldap'), 'after');
      assert.equal(store.outboundDepth(), 200);
    } finally {
      store.close();
    }
  });
});
