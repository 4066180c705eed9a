import type Database from 'better-sqlite3';
import { ErrorCodes, SyncError } from '../errors/index.js';

/**
 * Versioned schema of the state database. The version lives in SQLite's `user_version` header
 * field, which is written inside the migration transaction: a crash mid-migration leaves the
 * previous version and the previous schema, never a mix.
 *
 * Rules for adding a migration: append, never edit a released one (databases in the field already
 * ran it), number it one above the last, and keep it to SQL that SQLite 3.35 can run so an
 * operator's `sqlite3` shell can still open the file.
 */
export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly up: (db: Database.Database) => void;
}

/**
 * Marks the file as ours in the SQLite header ("PSYN"), so that pointing `state.path` at some
 * other application's database is refused instead of being migrated into.
 */
export const APPLICATION_ID = 0x5053594e;

const SCHEMA_V1 = `
  -- AUTOINCREMENT: a trimmed seq is never handed out again, even when the log is empty, because
  -- peers remember the last seq they applied from this replica.
  CREATE TABLE outbound_log (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    entry_id   TEXT    NOT NULL,
    csn        TEXT    NOT NULL,
    nodes      TEXT    NOT NULL, -- JSON array of PubSub node names
    payload    TEXT    NOT NULL,
    created_at INTEGER NOT NULL  -- ms since the epoch
  );
  -- Retention trimming deletes by age whatever the acks say.
  CREATE INDEX outbound_log_created_at ON outbound_log (created_at);

  CREATE TABLE checkpoints (
    source     TEXT    PRIMARY KEY,
    checkpoint TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
  );

  CREATE TABLE captured (
    source     TEXT    NOT NULL,
    key        TEXT    NOT NULL,
    global_id  TEXT    NOT NULL,
    hashes     TEXT    NOT NULL, -- JSON object
    csns       TEXT    NOT NULL, -- JSON object
    nodes      TEXT    NOT NULL, -- JSON array: where the object was last published, for its tombstone
    deleted    INTEGER NOT NULL CHECK (deleted IN (0, 1)),
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (source, key)
  );

  CREATE TABLE applied (
    sink       TEXT    NOT NULL,
    global_id  TEXT    NOT NULL,
    local_key  TEXT,
    csns       TEXT    NOT NULL, -- JSON object
    csn        TEXT    NOT NULL,
    deleted    INTEGER NOT NULL CHECK (deleted IN (0, 1)),
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (sink, global_id)
  );
  -- Not unique: a local key can be reused (an entry deleted then recreated under another global
  -- id), and two global ids landing on one key is a collision the pipeline reports, not a crash.
  CREATE INDEX applied_local_key ON applied (sink, local_key) WHERE local_key IS NOT NULL;
  -- Only tombstones are counted and purged; live rows stay out of this index.
  CREATE INDEX applied_tombstones ON applied (updated_at) WHERE deleted = 1;

  CREATE TABLE high_water (
    subscription TEXT    NOT NULL,
    origin       TEXT    NOT NULL,
    seq          INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (subscription, origin)
  );

  CREATE TABLE peer_acks (
    peer       TEXT    PRIMARY KEY,
    seq        INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );

  -- AUTOINCREMENT: operators refer to dead letters by id ("retry 42"); an id must not come back
  -- meaning another letter after a delete.
  CREATE TABLE dead_letters (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at      INTEGER NOT NULL,
    location        TEXT    NOT NULL, -- DeadLetter.where ("where" is an SQL keyword)
    entry_id        TEXT,
    payload         BLOB    NOT NULL, -- text or bytes, as given; payload_is_text says which
    payload_is_text INTEGER NOT NULL CHECK (payload_is_text IN (0, 1)),
    code            TEXT    NOT NULL,
    message         TEXT    NOT NULL,
    details         TEXT,             -- JSON object
    retries         INTEGER NOT NULL DEFAULT 0,
    retried_at      INTEGER
  );

  CREATE TABLE conflicts (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at INTEGER NOT NULL,
    kind       TEXT    NOT NULL CHECK (kind IN ('conflict', 'collision')),
    location   TEXT    NOT NULL,
    global_id  TEXT    NOT NULL,
    details    TEXT    NOT NULL  -- JSON object
  );
  CREATE INDEX conflicts_kind ON conflicts (kind);

  CREATE TABLE plugin_kv (
    scope TEXT NOT NULL,
    key   TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (scope, key)
  );
`;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'initial schema',
    up: (db) => {
      db.exec(SCHEMA_V1);
      db.pragma(`application_id = ${APPLICATION_ID}`);
    },
  },
  {
    version: 2,
    description: 'index the outbound log by entry, for snapshots and compaction',
    // Finds the records of one entry (is this one the newest?) without scanning the log.
    up: (db) => db.exec('CREATE INDEX outbound_log_entry ON outbound_log (entry_id, seq)'),
  },
  {
    version: 3,
    description: 'multi-master: tombstone CSNs, what a sink wrote, captured objects by global id and by any key',
    up: (db) =>
      db.exec(`
        -- The newest delete an object has seen, also while it lives on (fields older than it are gone).
        ALTER TABLE captured ADD COLUMN tombstone TEXT;
        ALTER TABLE applied ADD COLUMN tombstone TEXT;
        -- Hashes of the parts a sink wrote, so the source of the same application sees its echo.
        ALTER TABLE applied ADD COLUMN hashes TEXT NOT NULL DEFAULT '{}';
        CREATE INDEX captured_global_id ON captured (source, global_id);
        -- Every key value of a captured object (a DN as well as the entryUUID), to find the object
        -- a sink's local key names.
        CREATE TABLE captured_keys (
          source TEXT NOT NULL,
          value  TEXT NOT NULL,
          key    TEXT NOT NULL,
          PRIMARY KEY (source, value, key)
        ) WITHOUT ROWID;
        CREATE INDEX captured_keys_by_key ON captured_keys (source, key);
        -- Tombstones in the log are purged once every peer has them (or after the retention).
        ALTER TABLE outbound_log ADD COLUMN tombstone INTEGER NOT NULL DEFAULT 0;
      `),
  },
];

/** The schema version this build writes and understands. */
export const SCHEMA_VERSION: number = latestVersion(MIGRATIONS);

export interface MigrationResult {
  readonly from: number;
  readonly to: number;
}

/**
 * Brings the database to the newest schema in `migrations`, all pending steps in one IMMEDIATE
 * transaction (so two processes opening the same new file cannot both migrate it). Refuses a
 * database written by a newer pubsync, or one that belongs to another application.
 */
export function migrate(
  db: Database.Database,
  file: string,
  migrations: readonly Migration[] = MIGRATIONS,
): MigrationResult {
  checkMigrationList(migrations);
  const target = latestVersion(migrations);
  const run = db.transaction((): MigrationResult => {
    const from = readVersion(db);
    checkOwnership(db, file, from);
    if (from > target) throw newerSchemaError(file, from, target);
    for (const migration of migrations) {
      if (migration.version <= from) continue;
      migration.up(db);
      // user_version cannot be bound as a parameter; the value is a checked integer.
      db.pragma(`user_version = ${migration.version}`);
    }
    return { from, to: target };
  });
  return run.immediate();
}

export function readVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

function latestVersion(migrations: readonly Migration[]): number {
  return migrations.at(-1)?.version ?? 0;
}

/** A gap or a duplicate in the list is a programming error that would corrupt databases. */
function checkMigrationList(migrations: readonly Migration[]): void {
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new Error(`state migrations must be numbered 1, 2, 3...: found ${migration.version} at position ${index + 1}`);
    }
  });
}

function checkOwnership(db: Database.Database, file: string, version: number): void {
  const applicationId = db.pragma('application_id', { simple: true }) as number;
  if (applicationId !== 0 && applicationId !== APPLICATION_ID) {
    throw schemaError(file, `is not a pubsync state database (SQLite application_id ${applicationId})`, {
      applicationId,
    });
  }
  if (version === 0 && hasTables(db)) {
    throw schemaError(file, 'is not a pubsync state database (it has tables but no pubsync schema version)', {});
  }
}

function hasTables(db: Database.Database): boolean {
  return db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' LIMIT 1").get() !== undefined;
}

function newerSchemaError(file: string, found: number, supported: number): SyncError {
  return schemaError(
    file,
    `has schema version ${found}, newer than the ${supported} this pubsync supports: ` +
      'upgrade pubsync, or restore a backup taken before the upgrade',
    { found, supported },
  );
}

function schemaError(file: string, what: string, details: Record<string, unknown>): SyncError {
  return new SyncError(ErrorCodes.STATE_SCHEMA, 'config', `state database ${file} ${what}`, {
    details: { file, ...details },
  });
}
