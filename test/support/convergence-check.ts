import { parseEntry } from '../../src/format/index.js';
import type { MeshReplica } from './convergence-mesh.js';
import { expectedStates, normalise, revisionOf, type ExpectedObject, type ObjectState, type Revision } from './convergence-model.js';
import type { Journal, ReplicaApp } from './convergence-workload.js';

/**
 * Copies every replica's outbound log as it grows. The daemons compact superseded records once
 * the peers acknowledged them, and the model needs every revision ever published: reading often
 * keeps them all; a gap in the copied sequence is reported rather than silently modelled wrong.
 */
export class LogRecorder {
  readonly #records: Map<bigint, Revision>[];
  readonly #timer: NodeJS.Timeout;
  lastError: unknown;

  constructor(private readonly replicas: readonly MeshReplica[]) {
    this.#records = replicas.map(() => new Map());
    this.#timer = setInterval(() => {
      try {
        this.poll();
      } catch (error) {
        // A replica between stop and start, or a database being migrated: the next poll reads it.
        this.lastError = error;
      }
    }, 100);
    this.#timer.unref();
  }

  poll(): void {
    this.replicas.forEach((replica, i) => {
      const records = this.#records[i] as Map<bigint, Revision>;
      for (;;) {
        const after = records.size === 0 ? 0n : [...records.keys()].reduce((a, b) => (a > b ? a : b));
        const page = replica.store.readOutbound(after, 1000);
        for (const record of page) records.set(record.seq, revisionOf(parseEntry(record.payload)));
        if (page.length < 1000) break;
      }
    });
  }

  stop(): void {
    clearInterval(this.#timer);
    this.poll();
  }

  /** Every revision a replica published, in order. */
  revisions(replica: number): Revision[] {
    const records = this.#records[replica] ?? new Map<bigint, Revision>();
    return [...records.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, r]) => r);
  }

  /** Sequences missing from the copy (compacted before they were read). */
  gaps(replica: number): bigint[] {
    const records = this.#records[replica] ?? new Map<bigint, Revision>();
    const head = [...records.keys()].reduce((a, b) => (a > b ? a : b), 0n);
    const missing: bigint[] = [];
    for (let seq = 1n; seq <= head; seq++) if (!records.has(seq)) missing.push(seq);
    return missing;
  }

  all(): Revision[] {
    return this.replicas.flatMap((_, i) => this.revisions(i));
  }
}

export interface SettleReport {
  readonly settled: boolean;
  readonly heads: bigint[];
  /** [replica][peer] what it applied of that peer's log. */
  readonly highWater: bigint[][];
  /** The last change seen while waiting (what kept it from being quiet), when it did not settle. */
  readonly lastChange?: string;
}

/**
 * Waits until the system is quiet: every replica applied every other replica's whole log, no log
 * grew and no application changed for `quietMs`. Answers (not throws) when it does not settle, so
 * the comparison can say what differs.
 */
export async function settle(
  replicas: readonly MeshReplica[],
  apps: readonly ReplicaApp[],
  timeoutMs: number,
  /** Entries each replica may publish at most: beyond, it is echoing and will not settle. */
  bound: readonly number[],
  quietMs = 3000,
): Promise<SettleReport> {
  const deadline = Date.now() + timeoutMs;
  const started = Date.now();
  let since: number | undefined;
  let last: string[] = [];
  let lastChange: string | undefined;
  let report: SettleReport = { settled: false, heads: [], highWater: [] };
  while (Date.now() < deadline) {
    const heads = replicas.map((r) => r.store.lastOutboundSeq());
    // Far beyond the bound, the logs are growing without end: waiting longer shows nothing new.
    if (heads.some((head, i) => head > BigInt(2 * (bound[i] ?? 0) + 50))) return { settled: false, heads, highWater: [] };
    const highWater = replicas.map((r) => replicas.map((p) => (p === r ? heads[p.index] ?? 0n : r.highWater(p.name))));
    const caughtUp = highWater.every((row) => row.every((seq, j) => seq >= (heads[j] ?? 0n)));
    const states = await Promise.all(apps.map(async (app) => JSON.stringify(sortedSnapshot(await app.snapshot()))));
    const snapshot = [heads.join('/'), ...states];
    const changed = snapshot.findIndex((value, i) => value !== last[i]);
    if (changed >= 0 && last.length > 0) {
      const what = changed === 0 ? 'heads' : `${replicas[changed - 1]?.name ?? changed} state`;
      lastChange = `after ${Date.now() - started} ms, ${what}: ${last[changed]} -> ${snapshot[changed]}`;
    }
    report = { settled: false, heads, highWater, ...(lastChange === undefined ? {} : { lastChange }) };
    if (caughtUp && changed < 0) {
      since ??= Date.now();
      if (Date.now() - since >= quietMs) return { ...report, settled: true };
    } else {
      since = undefined;
    }
    last = snapshot;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return report;
}

function sortedSnapshot(snapshot: Map<string, Readonly<Record<string, readonly unknown[]>>>): [string, ObjectState][] {
  return [...snapshot.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([key, fields]) => [key, normalise(fields)]);
}

export interface Verdict {
  readonly problems: string[];
  readonly expected: Map<string, ExpectedObject>;
}

export interface VerdictInput {
  readonly replicas: readonly MeshReplica[];
  readonly apps: readonly ReplicaApp[];
  readonly recorder: LogRecorder;
  readonly journal: Journal;
  readonly settled: SettleReport;
  /** The natural key replica i's application holds the expected object under (undefined: not mappable). */
  readonly keyAt: (replica: number, expected: ExpectedObject) => string | undefined;
  /** The revision's natural key as the journal names it (to match removals and deletes); history is its object's. */
  readonly journalKey: (revision: Revision, history: readonly Revision[]) => string | undefined;
  /** The fields compared (all when absent): e.g. not the naming attributes an LDAP entry cannot lack. */
  readonly compared?: (field: string) => boolean;
  /** Puts a revision in the vocabulary the applications are compared in (e.g. LDAP attribute names to contact fields). */
  readonly translate?: (revision: Revision) => Revision;
  /** Entries a replica may publish beyond its application's changes (e.g. its first snapshot). */
  readonly slack?: number;
  /** Maps a journal value to the value and field the model holds (a transform may rename fields). */
  readonly fieldAt?: (replica: number, field: string) => string;
}

/**
 * The checks after settling: every replica equals the model (field by field, deleted objects
 * absent), no change was lost, no log grew beyond its application's changes, nothing dead-lettered.
 */
export async function verdict(input: VerdictInput): Promise<Verdict> {
  const { replicas, apps, recorder, journal, settled, keyAt } = input;
  const problems: string[] = [];
  if (!settled.settled) {
    problems.push(`not settled: log heads ${settled.heads.join('/')}, applied ${settled.highWater.map((row) => row.join(',')).join(' | ')}; last change ${settled.lastChange ?? 'none'}`);
  }
  for (const replica of replicas) {
    const gaps = recorder.gaps(replica.index);
    if (gaps.length > 0) problems.push(`${replica.name}: log records ${gaps.slice(0, 5).join(',')} compacted before the recorder read them (model incomplete)`);
  }

  // Bounded logs: an applied peer change published again shows as more entries than changes made.
  const made = journal.madeBy(replicas.length);
  replicas.forEach((replica, i) => {
    const published = recorder.revisions(i).length;
    const bound = (made[i] ?? 0) + (input.slack ?? 2);
    if (published > bound) problems.push(`${replica.name}: log grew to ${published} entries for ${made[i] ?? 0} local changes (echo or ping-pong)`);
  });

  // Every replica equals the model.
  const translate = input.translate ?? ((r: Revision): Revision => r);
  const expected = expectedStates(recorder.all().map(translate));
  const snapshots = await Promise.all(apps.map((app) => app.snapshot()));
  snapshots.forEach((snapshot, i) => {
    const name = replicas[i]?.name ?? String(i);
    const seen = new Set<string>();
    for (const object of expected.values()) {
      const key = keyAt(i, object);
      if (key === undefined) continue;
      const held = snapshot.get(key);
      if (!object.alive) {
        if (held && otherAliveUnder(expected, keyAt, i, key, object.id) === undefined) {
          problems.push(`${name}: ${key} (${object.id}) should be deleted but holds ${JSON.stringify(normalise(held))}`);
        }
        continue;
      }
      seen.add(key);
      if (!held) {
        problems.push(`${name}: ${key} (${object.id}) missing; expected ${JSON.stringify(object.fields)}`);
        continue;
      }
      const actual = normalise(held);
      const compared = input.compared ?? ((): boolean => true);
      for (const field of new Set([...Object.keys(object.fields), ...Object.keys(actual)].filter(compared))) {
        const want = JSON.stringify(object.fields[field] ?? []);
        const got = JSON.stringify(actual[field] ?? []);
        if (want !== got) problems.push(`${name}: ${key} field ${field} is ${got}, the model says ${want}`);
      }
    }
    for (const key of snapshot.keys()) {
      if (!seen.has(key) && ![...expected.values()].some((o) => keyAt(i, o) === key)) problems.push(`${name}: holds ${key}, which no replica published`);
    }
  });

  problems.push(...lostChanges(input));
  for (const replica of replicas) {
    const letters = replica.store.countDeadLetters();
    if (letters > 0) {
      const first = replica.store.listDeadLetters({ limit: 3 }).map((d) => `${d.code} ${d.message}`);
      problems.push(`${replica.name}: ${letters} dead letters, e.g. ${first.join('; ')}`);
    }
  }
  return { problems, expected };
}

/** The id of another object alive under the same key at that replica. */
function otherAliveUnder(expected: Map<string, ExpectedObject>, keyAt: VerdictInput['keyAt'], replica: number, key: string, id: string): string | undefined {
  for (const object of expected.values()) if (object.id !== id && object.alive && keyAt(replica, object) === key) return object.id;
  return undefined;
}

/**
 * A change the application made must reach its replica's log, unless the same application changed
 * the same field (or deleted the object) again before its source read it: feeds that coalesce
 * (CouchDB's _changes) report only the latest revision.
 */
function lostChanges(input: VerdictInput): string[] {
  const { journal, recorder, replicas } = input;
  const problems: string[] = [];
  const histories = new Map<string, Revision[]>();
  for (const revision of recorder.all()) histories.set(revision.id, [...(histories.get(revision.id) ?? []), revision]);
  const journalKey = (revision: Revision): string | undefined => input.journalKey(revision, histories.get(revision.id) ?? []);
  const made = journal.records.filter((r) => r.made);
  for (const [index, record] of made.entries()) {
    const { change } = record;
    const replica = replicas[change.at];
    if (!replica) continue;
    const later = made.slice(index + 1).filter((r) => r.change.at === change.at && r.change.key === change.key);
    const fieldOf = (c: typeof change): string => (c.kind === 'delete' ? '' : (input.fieldAt?.(c.at, c.field) ?? c.field));
    const field = fieldOf(change);
    // A delete is superseded by any later change of the object (a re-creation may hide it).
    const superseded = later.some((r) => change.kind === 'delete' || r.change.kind === 'delete' || fieldOf(r.change) === field);
    if (superseded) continue;
    const own = recorder.revisions(change.at).filter((r) => r.origin === replica.replicaId);
    let found: boolean;
    if (change.kind === 'set') {
      found = own.some((r) => r.fields.some((f) => f.name === field && f.values.includes(change.value)));
    } else if (change.kind === 'unset') {
      // Removing values this application set itself and its source never read (the daemon stopped
      // meanwhile, a coalescing feed): the pair cancels out, no removal to publish.
      const setHere = (value: string): boolean => made.some((r) => r.change.kind === 'set' && r.change.at === change.at && r.change.value === value);
      const removed = record.removed ?? [];
      const unread = removed.length > 0 && removed.every((value) => setHere(value) && !own.some((r) => r.fields.some((f) => f.values.includes(value))));
      found = unread || own.some((r) => journalKey(r) === change.key && !r.deleted && r.fields.some((f) => f.name === field && f.values.length === 0));
    } else {
      found = own.some((r) => journalKey(r) === change.key && r.deleted);
    }
    if (!found) {
      const what = change.kind === 'set' ? `set ${change.key}.${field}=${change.value}` : change.kind === 'unset' ? `unset ${change.key}.${field}` : `delete ${change.key}`;
      problems.push(`${replica.name}: change #${record.seq} (${what}) never reached its log (lost)`);
    }
  }
  return problems;
}
