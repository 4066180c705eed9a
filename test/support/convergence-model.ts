import type { Entry } from '../../src/format/model.js';

/**
 * The reference model of the convergence tests: what every replica must hold once the system has
 * settled, computed from every revision the replicas published. It is written from the rule, not
 * from src/pipeline/merge.ts, so that a bug there shows as a difference:
 *
 * - per field, the value of the revision with the greatest field CSN wins (CSNs are totally
 *   ordered strings whose replica id breaks ties between replicas);
 * - an object is alive iff its newest revision is newer than its newest tombstone;
 * - only fields changed after the newest tombstone survive;
 * - a field with no values is absent.
 */

export interface Revision {
  /** Global id. */
  readonly id: string;
  /** Replica id of the origin. */
  readonly origin: number;
  readonly deleted: boolean;
  readonly csn: string;
  readonly keys: readonly { readonly scheme: string; readonly value: string }[];
  readonly fields: readonly ModelField[];
}

export interface ModelField {
  readonly name: string;
  readonly csn: string;
  readonly values: readonly string[];
}

/** One object as the tests compare it: field name to its values (sorted), absent fields left out. */
export type ObjectState = Readonly<Record<string, readonly string[]>>;

export interface ExpectedObject {
  readonly id: string;
  readonly alive: boolean;
  readonly fields: ObjectState;
  /** The newest revision's keys (the natural keys it was last published under). */
  readonly keys: Revision['keys'];
  /** Every revision of the object, from every replica. */
  readonly history: readonly Revision[];
}

/** A wire entry as the model reads it: values made text, so that every application compares alike. */
export function revisionOf(entry: Entry): Revision {
  return {
    id: entry.id,
    origin: entry.origin.replica,
    deleted: entry.deleted,
    csn: entry.csn,
    keys: entry.keys,
    fields: entry.deleted ? [] : entry.fields.map((f) => ({ name: f.name, csn: f.csn, values: f.values.map(textOf) })),
  };
}

/** Folds every revision of every object into the state the rule gives; order does not matter. */
export function expectedStates(revisions: Iterable<Revision>): Map<string, ExpectedObject> {
  const byId = new Map<string, Revision[]>();
  for (const revision of revisions) {
    const list = byId.get(revision.id) ?? [];
    list.push(revision);
    byId.set(revision.id, list);
  }
  const out = new Map<string, ExpectedObject>();
  for (const [id, list] of byId) out.set(id, fold(id, list));
  return out;
}

function fold(id: string, revisions: readonly Revision[]): ExpectedObject {
  let tombstone = '';
  let newest = '';
  let keys: Revision['keys'] = [];
  let newestAny = '';
  const winners = new Map<string, ModelField>();
  for (const revision of revisions) {
    if (revision.csn > newestAny) {
      newestAny = revision.csn;
      keys = revision.keys;
    }
    if (revision.deleted) {
      if (revision.csn > tombstone) tombstone = revision.csn;
      continue;
    }
    if (revision.csn > newest) newest = revision.csn;
    for (const field of revision.fields) {
      const current = winners.get(field.name);
      if (!current || field.csn > current.csn) winners.set(field.name, field);
    }
  }
  const alive = newest > tombstone;
  const fields: Record<string, readonly string[]> = {};
  if (alive) {
    for (const [name, field] of winners) {
      if (field.csn > tombstone && field.values.length > 0) fields[name] = [...field.values].sort();
    }
  }
  return { id, alive, fields, keys, history: revisions };
}

/** An application's object normalised for comparison: text values, sorted, empty fields dropped. */
export function normalise(fields: Readonly<Record<string, readonly unknown[]>>): ObjectState {
  const out: Record<string, readonly string[]> = {};
  for (const name of Object.keys(fields).sort()) {
    const values = (fields[name] ?? []).map(textOf);
    if (values.length > 0) out[name] = values.sort();
  }
  return out;
}

function textOf(value: unknown): string {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (typeof value === 'object' && value !== null) return JSON.stringify(value);
  return String(value);
}

/** mulberry32: a small seedable PRNG; enough to pick operations, and the same on every machine. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The run's seed: PUBSYNC_SEED replays one, otherwise a fresh one (printed by the tests). */
export function runSeed(): number {
  const given = process.env['PUBSYNC_SEED'];
  if (given !== undefined && given !== '') {
    const seed = Number(given);
    if (!Number.isSafeInteger(seed)) throw new Error(`PUBSYNC_SEED must be an integer, got ${given}`);
    return seed;
  }
  return Math.floor(Math.random() * 2 ** 31);
}

/** Operations per run: PUBSYNC_CONVERGENCE_OPS for a longer run, else the CI default given. */
export function runOps(ciDefault: number): number {
  const given = process.env['PUBSYNC_CONVERGENCE_OPS'];
  if (given === undefined || given === '') return ciDefault;
  const ops = Number(given);
  if (!Number.isSafeInteger(ops) || ops < 10) throw new Error(`PUBSYNC_CONVERGENCE_OPS must be an integer >= 10, got ${given}`);
  return ops;
}

/** A test timeout that grows with the run: setup and settling, plus time for each change. */
export function runTimeoutMs(ciDefault: number): number {
  return Math.max(300_000, 120_000 + runOps(ciDefault) * 400);
}
