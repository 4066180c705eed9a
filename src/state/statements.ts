import type Database from 'better-sqlite3';

/** Rows as SQLite returns them; the store maps them to the StateStore types. */
export interface CheckpointRow {
  source: string;
  checkpoint: string;
  updated_at: bigint;
}

export interface HighWaterRow {
  subscription: string;
  origin: string;
  seq: bigint;
  updated_at: bigint;
}

export interface OutboundRow {
  seq: bigint;
  entry_id: string;
  csn: string;
  nodes: string;
  payload: string;
  created_at: bigint;
}

export interface CapturedRow {
  key: string;
  global_id: string;
  hashes: string;
  csns: string;
  nodes: string;
  deleted: number;
  tombstone: string | null;
}

export interface AppliedRow {
  global_id: string;
  local_key: string | null;
  csns: string;
  csn: string;
  deleted: number;
  tombstone: string | null;
  hashes: string;
}

export interface PeerAckRow {
  peer: string;
  seq: bigint;
}

export interface DeadLetterRow {
  id: number;
  created_at: number;
  location: string;
  entry_id: string | null;
  payload: string | Buffer;
  payload_is_text: number;
  code: string;
  message: string;
  details: string | null;
  retries: number;
}

export interface ConflictRow {
  id: number;
  created_at: number;
  kind: string;
  location: string;
  global_id: string;
  details: string;
}

type Statement<Row = unknown> = Database.Statement<unknown[], Row>;

export interface Statements {
  readonly insertOutbound: Statement;
  readonly readOutbound: Statement<OutboundRow>;
  readonly readSnapshot: Statement<OutboundRow>;
  readonly latestOutbound: Statement<OutboundRow>;
  readonly oldestOutboundSeq: Statement<bigint | null>;
  readonly compactAckedOrOlder: Statement<bigint>;
  readonly compactOlder: Statement<bigint>;
  readonly purgeLogTombstonesAckedOrOlder: Statement<bigint>;
  readonly purgeLogTombstonesOlder: Statement<bigint>;
  readonly purgeCapturedTombstones: Statement;
  readonly countCapturedTombstones: Statement<number>;
  readonly lastOutboundSeq: Statement<bigint>;
  readonly outboundDepth: Statement<number>;
  readonly trimAckedOrOlder: Statement;
  readonly trimOlder: Statement;
  readonly getCheckpoint: Statement<string>;
  readonly listCheckpoints: Statement<CheckpointRow>;
  readonly setCheckpoint: Statement;
  readonly getCaptured: Statement<CapturedRow>;
  readonly putCaptured: Statement;
  readonly findCapturedByGlobalId: Statement<CapturedRow>;
  readonly findCapturedByKeyValue: Statement<CapturedRow>;
  readonly deleteCapturedKeys: Statement;
  readonly putCapturedKey: Statement;
  readonly getApplied: Statement<AppliedRow>;
  readonly findAppliedByKey: Statement<AppliedRow>;
  readonly putApplied: Statement;
  readonly countTombstones: Statement<number>;
  readonly purgeTombstones: Statement;
  readonly getHighWater: Statement<bigint>;
  readonly listHighWater: Statement<HighWaterRow>;
  readonly setHighWater: Statement;
  readonly setPeerAck: Statement;
  readonly peerAcks: Statement<PeerAckRow>;
  readonly addDeadLetter: Statement;
  readonly listDeadLetters: Statement<DeadLetterRow>;
  readonly getDeadLetter: Statement<DeadLetterRow>;
  readonly markRetried: Statement;
  readonly deleteDeadLetter: Statement;
  readonly countDeadLetters: Statement<number>;
  readonly addConflict: Statement;
  readonly listConflicts: Statement<ConflictRow>;
  readonly countConflicts: Statement<number>;
  readonly countConflictsOfKind: Statement<number>;
  readonly kvGet: Statement<string>;
  readonly kvPut: Statement;
  readonly kvDelete: Statement;
  readonly kvRange: Statement<[string, string]>;
}

const DEAD_LETTER_COLUMNS =
  'id, created_at, location, entry_id, payload, payload_is_text, code, message, details, retries';
const APPLIED_COLUMNS = 'global_id, local_key, csns, csn, deleted, tombstone, hashes';
const CAPTURED_COLUMNS = 'key, global_id, hashes, csns, nodes, deleted, tombstone';

/**
 * Every statement the store runs, prepared once when the store opens (after migration, since
 * preparing checks the schema). Statements that return sequence numbers use safeIntegers so that
 * seqs come back as bigint and never lose precision above 2^53.
 */
export function prepareStatements(db: Database.Database): Statements {
  const prepare = <Row = unknown>(sql: string): Statement<Row> => db.prepare<unknown[], Row>(sql);
  const value = <Row>(sql: string): Statement<Row> => prepare<Row>(sql).pluck();
  return {
    // safeIntegers makes run() report lastInsertRowid as a bigint.
    insertOutbound: prepare(
      'INSERT INTO outbound_log (entry_id, csn, nodes, payload, created_at, tombstone) VALUES (?, ?, ?, ?, ?, ?)',
    ).safeIntegers(true),
    readOutbound: prepare<OutboundRow>(
      'SELECT seq, entry_id, csn, nodes, payload, created_at FROM outbound_log WHERE seq > ? ORDER BY seq LIMIT ?',
    ).safeIntegers(true),
    // The newest record of each entry: no later record of the same entry_id exists. The outer scan
    // walks the primary key from afterSeq; the inner probe is a seek on outbound_log_entry (v2).
    readSnapshot: prepare<OutboundRow>(
      `SELECT seq, entry_id, csn, nodes, payload, created_at FROM outbound_log AS o WHERE o.seq > ?
         AND NOT EXISTS (SELECT 1 FROM outbound_log AS n WHERE n.entry_id = o.entry_id AND n.seq > o.seq)
       ORDER BY o.seq LIMIT ?`,
    ).safeIntegers(true),
    latestOutbound: prepare<OutboundRow>(
      'SELECT seq, entry_id, csn, nodes, payload, created_at FROM outbound_log WHERE entry_id = ? ORDER BY seq DESC LIMIT 1',
    ).safeIntegers(true),
    oldestOutboundSeq: value<bigint | null>('SELECT min(seq) FROM outbound_log').safeIntegers(true),
    // Only superseded records go: the newest record of every entry stays, so a snapshot is complete.
    // RETURNING: the store remembers the highest seq compacted away (see compactedThrough).
    compactAckedOrOlder: value<bigint>(
      `DELETE FROM outbound_log WHERE seq IN (
         SELECT o.seq FROM outbound_log AS o WHERE (o.seq <= ? OR o.created_at < ?)
           AND EXISTS (SELECT 1 FROM outbound_log AS n WHERE n.entry_id = o.entry_id AND n.seq > o.seq)
         ORDER BY o.seq LIMIT ?) RETURNING seq`,
    ).safeIntegers(true),
    compactOlder: value<bigint>(
      `DELETE FROM outbound_log WHERE seq IN (
         SELECT o.seq FROM outbound_log AS o WHERE o.created_at < ?
           AND EXISTS (SELECT 1 FROM outbound_log AS n WHERE n.entry_id = o.entry_id AND n.seq > o.seq)
         ORDER BY o.seq LIMIT ?) RETURNING seq`,
    ).safeIntegers(true),
    // A tombstone that is the newest record of its entry: once every peer has it, or it is older
    // than the retention, no peer can still need it to delete the object.
    purgeLogTombstonesAckedOrOlder: value<bigint>(
      `DELETE FROM outbound_log WHERE seq IN (
         SELECT o.seq FROM outbound_log AS o WHERE o.tombstone = 1 AND (o.seq <= ? OR o.created_at < ?)
           AND NOT EXISTS (SELECT 1 FROM outbound_log AS n WHERE n.entry_id = o.entry_id AND n.seq > o.seq)
         ORDER BY o.seq LIMIT ?) RETURNING seq`,
    ).safeIntegers(true),
    purgeLogTombstonesOlder: value<bigint>(
      `DELETE FROM outbound_log WHERE seq IN (
         SELECT o.seq FROM outbound_log AS o WHERE o.tombstone = 1 AND o.created_at < ?
           AND NOT EXISTS (SELECT 1 FROM outbound_log AS n WHERE n.entry_id = o.entry_id AND n.seq > o.seq)
         ORDER BY o.seq LIMIT ?) RETURNING seq`,
    ).safeIntegers(true),
    purgeCapturedTombstones: prepare('DELETE FROM captured WHERE deleted = 1 AND updated_at < ?'),
    countCapturedTombstones: value<number>('SELECT count(*) FROM captured WHERE deleted = 1'),
    // sqlite_sequence keeps the highest seq ever assigned, even once the log is trimmed empty.
    lastOutboundSeq: value<bigint>("SELECT seq FROM sqlite_sequence WHERE name = 'outbound_log'").safeIntegers(true),
    outboundDepth: value<number>('SELECT count(*) FROM outbound_log'),
    trimAckedOrOlder: prepare('DELETE FROM outbound_log WHERE seq <= ? OR created_at < ?'),
    trimOlder: prepare('DELETE FROM outbound_log WHERE created_at < ?'),

    getCheckpoint: value<string>('SELECT checkpoint FROM checkpoints WHERE source = ?'),
    listCheckpoints: prepare<CheckpointRow>('SELECT source, checkpoint, updated_at FROM checkpoints ORDER BY source').safeIntegers(true),
    setCheckpoint: prepare(
      `INSERT INTO checkpoints (source, checkpoint, updated_at) VALUES (?, ?, ?)
       ON CONFLICT (source) DO UPDATE SET checkpoint = excluded.checkpoint, updated_at = excluded.updated_at`,
    ),

    getCaptured: prepare<CapturedRow>(`SELECT ${CAPTURED_COLUMNS} FROM captured WHERE source = ? AND key = ?`),
    putCaptured: prepare(
      `INSERT INTO captured (source, key, global_id, hashes, csns, nodes, deleted, tombstone, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (source, key) DO UPDATE SET global_id = excluded.global_id, hashes = excluded.hashes,
         csns = excluded.csns, nodes = excluded.nodes, deleted = excluded.deleted, tombstone = excluded.tombstone,
         updated_at = excluded.updated_at`,
    ),
    findCapturedByGlobalId: prepare<CapturedRow>(
      `SELECT ${CAPTURED_COLUMNS} FROM captured WHERE source = ? AND global_id = ? ORDER BY updated_at DESC, rowid DESC LIMIT 1`,
    ),
    findCapturedByKeyValue: prepare<CapturedRow>(
      `SELECT ${CAPTURED_COLUMNS.split(', ').map((column) => `c.${column}`).join(', ')}
       FROM captured_keys k JOIN captured c ON c.source = k.source AND c.key = k.key
       WHERE k.source = ? AND k.value = ? ORDER BY c.deleted, c.updated_at DESC, c.rowid DESC LIMIT 1`,
    ),
    deleteCapturedKeys: prepare('DELETE FROM captured_keys WHERE source = ? AND key = ?'),
    putCapturedKey: prepare('INSERT OR IGNORE INTO captured_keys (source, value, key) VALUES (?, ?, ?)'),

    getApplied: prepare<AppliedRow>(`SELECT ${APPLIED_COLUMNS} FROM applied WHERE sink = ? AND global_id = ?`),
    // When a key was reused, the live object wins over a tombstone, then the latest write.
    findAppliedByKey: prepare<AppliedRow>(
      `SELECT ${APPLIED_COLUMNS} FROM applied WHERE sink = ? AND local_key = ?
       ORDER BY deleted, updated_at DESC, rowid DESC LIMIT 1`,
    ),
    putApplied: prepare(
      `INSERT INTO applied (sink, global_id, local_key, csns, csn, deleted, tombstone, hashes, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (sink, global_id) DO UPDATE SET local_key = excluded.local_key, csns = excluded.csns,
         csn = excluded.csn, deleted = excluded.deleted, tombstone = excluded.tombstone, hashes = excluded.hashes,
         updated_at = excluded.updated_at`,
    ),
    countTombstones: value<number>('SELECT count(*) FROM applied WHERE deleted = 1'),
    purgeTombstones: prepare('DELETE FROM applied WHERE deleted = 1 AND updated_at < ?'),

    getHighWater: value<bigint>('SELECT seq FROM high_water WHERE subscription = ? AND origin = ?').safeIntegers(true),
    listHighWater: prepare<HighWaterRow>(
      'SELECT subscription, origin, seq, updated_at FROM high_water ORDER BY subscription, origin',
    ).safeIntegers(true),
    setHighWater: prepare(
      `INSERT INTO high_water (subscription, origin, seq, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (subscription, origin) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at`,
    ),
    setPeerAck: prepare(
      `INSERT INTO peer_acks (peer, seq, updated_at) VALUES (?, ?, ?)
       ON CONFLICT (peer) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at`,
    ),
    peerAcks: prepare<PeerAckRow>('SELECT peer, seq FROM peer_acks ORDER BY peer').safeIntegers(true),

    addDeadLetter: prepare(
      `INSERT INTO dead_letters (created_at, location, entry_id, payload, payload_is_text, code, message, details)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    listDeadLetters: prepare<DeadLetterRow>(
      `SELECT ${DEAD_LETTER_COLUMNS} FROM dead_letters WHERE id > ? ORDER BY id LIMIT ?`,
    ),
    getDeadLetter: prepare<DeadLetterRow>(`SELECT ${DEAD_LETTER_COLUMNS} FROM dead_letters WHERE id = ?`),
    markRetried: prepare('UPDATE dead_letters SET retries = retries + 1, retried_at = ? WHERE id = ?'),
    deleteDeadLetter: prepare('DELETE FROM dead_letters WHERE id = ?'),
    countDeadLetters: value<number>('SELECT count(*) FROM dead_letters'),

    addConflict: prepare(
      'INSERT INTO conflicts (created_at, kind, location, global_id, details) VALUES (?, ?, ?, ?, ?)',
    ),
    listConflicts: prepare<ConflictRow>(
      'SELECT id, created_at, kind, location, global_id, details FROM conflicts WHERE id > ? ORDER BY id LIMIT ?',
    ),
    countConflicts: value<number>('SELECT count(*) FROM conflicts'),
    countConflictsOfKind: value<number>('SELECT count(*) FROM conflicts WHERE kind = ?'),

    kvGet: value<string>('SELECT value FROM plugin_kv WHERE scope = ? AND key = ?'),
    kvPut: prepare(
      `INSERT INTO plugin_kv (scope, key, value) VALUES (?, ?, ?)
       ON CONFLICT (scope, key) DO UPDATE SET value = excluded.value`,
    ),
    kvDelete: prepare('DELETE FROM plugin_kv WHERE scope = ? AND key = ?'),
    // Parameters: scope, lower bound candidates (max() picks the larger in SQLite's own order),
    // exclusive upper bound, limit. Both bounds are on the primary key, so this is an index range.
    kvRange: prepare<[string, string]>(
      'SELECT key, value FROM plugin_kv WHERE scope = ? AND key >= max(?, ?) AND key < ? ORDER BY key LIMIT ?',
    ).raw(true),
  };
}
