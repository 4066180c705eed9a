import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { ErrorCodes, SyncError } from '../../../src/errors/index.js';
import {
  APPLICATION_ID,
  MIGRATIONS,
  SCHEMA_VERSION,
  migrate,
  openStateStore,
  readVersion,
  type Migration,
} from '../../../src/state/index.js';
import { tempDirectory } from './helpers.js';

const directory = tempDirectory();
after(() => directory.remove());

function tableNames(db: Database.Database): string[] {
  return db
    .prepare<[], string>("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    .pluck()
    .all();
}

function isSchemaError(mentioning: string) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof SyncError);
    assert.equal(error.code, ErrorCodes.STATE_SCHEMA);
    assert.equal(error.kind, 'config');
    assert.ok(error.message.includes(mentioning), error.message);
    return true;
  };
}

describe('migrations', () => {
  it('are numbered 1, 2, 3... and SCHEMA_VERSION is the last', () => {
    assert.deepEqual(
      MIGRATIONS.map((migration) => migration.version),
      MIGRATIONS.map((_, index) => index + 1),
    );
    assert.equal(SCHEMA_VERSION, MIGRATIONS.length);
  });

  it('migrate an empty database to the latest version', () => {
    const db = new Database(':memory:');
    assert.deepEqual(migrate(db, ':memory:'), { from: 0, to: SCHEMA_VERSION });
    assert.equal(readVersion(db), SCHEMA_VERSION);
    assert.equal(db.pragma('application_id', { simple: true }), APPLICATION_ID);
    assert.deepEqual(tableNames(db), [
      'applied',
      'captured',
      'captured_keys',
      'checkpoints',
      'conflicts',
      'dead_letters',
      'high_water',
      'outbound_log',
      'peer_acks',
      'plugin_kv',
    ]);
    assert.deepEqual(migrate(db, ':memory:'), { from: SCHEMA_VERSION, to: SCHEMA_VERSION }, 'idempotent');
  });

  it('run only the pending steps, in order', () => {
    const db = new Database(':memory:');
    const ran: number[] = [];
    const step = (version: number): Migration => ({
      version,
      description: `step ${version}`,
      up: (target) => {
        ran.push(version);
        target.exec(`CREATE TABLE t${version} (x)`);
      },
    });
    migrate(db, ':memory:', [step(1)]);
    assert.deepEqual(migrate(db, ':memory:', [step(1), step(2), step(3)]), { from: 1, to: 3 });
    assert.deepEqual(ran, [1, 2, 3]);
    assert.deepEqual(tableNames(db), ['t1', 't2', 't3']);
  });

  it('roll every pending step back when one fails', () => {
    const db = new Database(':memory:');
    const failing: Migration[] = [
      MIGRATIONS[0] as Migration,
      {
        version: 2,
        description: 'breaks',
        up: (target) => {
          target.exec('CREATE TABLE half_done (x)');
          throw new Error('migration bug');
        },
      },
    ];
    assert.throws(() => migrate(db, ':memory:', failing), /migration bug/);
    assert.equal(readVersion(db), 0);
    assert.deepEqual(tableNames(db), []);
  });

  it('refuse a list with a gap', () => {
    const db = new Database(':memory:');
    const gap: Migration = { version: 3, description: 'gap', up: () => undefined };
    assert.throws(() => migrate(db, ':memory:', [MIGRATIONS[0] as Migration, gap]), /numbered/);
  });
});

describe('opening a database', () => {
  it('refuses one written by a newer pubsync and leaves it untouched', () => {
    const file = directory.file('newer.db');
    openStateStore(file).close();
    const db = new Database(file);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();

    assert.throws(() => openStateStore(file), isSchemaError(`schema version ${SCHEMA_VERSION + 1}`));
    const check = new Database(file);
    assert.equal(readVersion(check), SCHEMA_VERSION + 1);
    check.close();
  });

  it("refuses another application's database", () => {
    const file = directory.file('foreign.db');
    const db = new Database(file);
    db.exec('CREATE TABLE accounts (id INTEGER PRIMARY KEY)');
    db.close();
    assert.throws(() => openStateStore(file), isSchemaError('not a pubsync state database'));

    const marked = directory.file('marked.db');
    const other = new Database(marked);
    other.pragma('application_id = 1234');
    other.close();
    assert.throws(() => openStateStore(marked), isSchemaError('application_id 1234'));
  });
});
