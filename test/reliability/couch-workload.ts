import assert from 'node:assert/strict';
import type { TestDatabase } from '../integration/couchdb/couch-fixture.js';
import type { SeededRandom } from '../support/seeded-random.js';

/**
 * The application side of the reliability tests: a seeded stream of creates, updates and deletes
 * written to database A in _bulk_docs batches, as an application would, and the object-by-object
 * comparison of A and B at the end. Every update sets `v` to a counter that only grows per
 * document, so a change captured or applied twice out of order would show as a smaller `v`.
 */
export class CouchWorkload {
  /** Live documents: id -> current rev and value. */
  readonly #live = new Map<string, { rev: string; v: number }>();
  #next = 0;
  changes = 0;

  constructor(
    private readonly db: TestDatabase,
    private readonly random: SeededRandom,
    private readonly options: { readonly maxDocs: number; readonly batch: number },
  ) {}

  /** Writes `count` changes; returns once CouchDB accepted them all. */
  async write(count: number): Promise<void> {
    let left = count;
    while (left > 0) {
      const size = Math.min(left, this.options.batch);
      await this.#writeBatch(size);
      left -= size;
    }
  }

  async #writeBatch(size: number): Promise<void> {
    const docs: Record<string, unknown>[] = [];
    const touched = new Set<string>();
    const ids = [...this.#live.keys()];
    for (let i = 0; i < size; i++) {
      const roll = this.random.next();
      const existing = ids.length > 0 ? this.random.pick(ids) : undefined;
      if (existing === undefined || touched.has(existing) || (roll < 0.35 && this.#live.size < this.options.maxDocs)) {
        const id = `doc-${String(this.#next++).padStart(6, '0')}`;
        touched.add(id);
        docs.push({ _id: id, type: 'item', v: 0, title: `created ${id}`, n: this.random.int(0, 1e6), tags: this.random.next() < 0.5 ? ['even'] : ['odd'] });
      } else if (roll < 0.9) {
        const current = this.#live.get(existing);
        if (!current) continue;
        touched.add(existing);
        docs.push({ _id: existing, _rev: current.rev, type: 'item', v: current.v + 1, title: `updated ${existing} to ${current.v + 1}`, n: this.random.int(0, 1e6), nested: { at: current.v + 1 } });
      } else {
        const current = this.#live.get(existing);
        if (!current) continue;
        touched.add(existing);
        docs.push({ _id: existing, _rev: current.rev, _deleted: true });
      }
    }
    const results = (await this.db.db.bulk({ docs })) as { id: string; rev?: string; error?: string }[];
    for (const [i, result] of results.entries()) {
      const doc = docs[i];
      if (!doc || result.error !== undefined || result.rev === undefined) throw new Error(`CouchDB refused ${result.id}: ${result.error}`);
      this.changes++;
      if (doc['_deleted'] === true) this.#live.delete(result.id);
      else this.#live.set(result.id, { rev: result.rev, v: doc['v'] as number });
    }
  }
}

/** Every document of a database as it is now, without _rev and pubsync's metadata field. */
export async function snapshot(db: TestDatabase): Promise<Map<string, Record<string, unknown>>> {
  const all = (await db.db.list({ include_docs: true })) as { rows: { id: string; doc?: Record<string, unknown> }[] };
  const out = new Map<string, Record<string, unknown>>();
  for (const row of all.rows) {
    if (!row.doc || row.id.startsWith('_design/')) continue;
    const { _rev: _ignoredRev, pubsync: _ignoredMeta, ...rest } = row.doc;
    out.set(row.id, rest);
  }
  return out;
}

export interface Difference {
  readonly id: string;
  readonly a: unknown;
  readonly b: unknown;
}

/** The documents that differ between A and B (missing on one side counts). */
export function differences(a: Map<string, Record<string, unknown>>, b: Map<string, Record<string, unknown>>): Difference[] {
  const out: Difference[] = [];
  for (const id of new Set([...a.keys(), ...b.keys()])) {
    try {
      assert.deepStrictEqual(b.get(id), a.get(id));
    } catch {
      out.push({ id, a: a.get(id), b: b.get(id) });
    }
  }
  return out;
}

/** Polls until B equals A; returns the differences left at the deadline (none on success). */
export async function converge(dbA: TestDatabase, dbB: TestDatabase, timeoutMs: number): Promise<Difference[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const diff = differences(await snapshot(dbA), await snapshot(dbB));
    if (diff.length === 0 || Date.now() > deadline) return diff;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
