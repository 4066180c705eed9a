import { parseEntry } from '../../src/format/index.js';
import { openStateStore } from '../../src/state/index.js';
import { seededRandom } from '../support/seeded-random.js';
import { startCouchPair, type CouchPair } from './couch-pair.js';
import { converge, CouchWorkload, type Difference } from './couch-workload.js';

/**
 * kill -9 of the daemons at seeded random moments while changes flow from CouchDB A through
 * Prosody to CouchDB B. Shared by the quick test (test/reliability) and the long run (test/long):
 * only the sizes differ.
 */
export interface KillTrialOptions {
  readonly seed: number;
  readonly changes: number;
  readonly kills: number;
  /** How long B may take to equal A after the last change (ms). */
  readonly convergeMs: number;
}

export interface KillTrialResult {
  readonly seed: number;
  readonly changes: number;
  readonly kills: { readonly daemon: 'a' | 'b'; readonly afterChanges: number }[];
  readonly documents: number;
  readonly differences: Difference[];
  /** Documents whose captured values in A's outbound log went backwards (an old change captured again after a newer one). */
  readonly recaptured: string[];
  readonly deadLetters: { code: string; message: string }[];
  readonly ms: number;
  /** On a difference: warnings and errors the daemons logged, and where each stood, to diagnose it. */
  readonly diagnosis?: string;
}

export async function runKillTrial(options: KillTrialOptions): Promise<KillTrialResult> {
  const started = Date.now();
  const random = seededRandom(options.seed);
  const pair = await startCouchPair();
  try {
    await pair.startB();
    await pair.startA();
    const workload = new CouchWorkload(pair.dbA, random, { maxDocs: Math.max(50, Math.floor(options.changes / 8)), batch: 50 });
    // Kill moments as change counts, sorted, so the killer and the writer need no clock.
    const moments = Array.from({ length: options.kills }, () => random.int(1, options.changes - 1)).sort((x, y) => x - y);
    const kills: KillTrialResult['kills'] = [];
    for (const moment of [...moments, options.changes]) {
      await workload.write(moment - workload.changes);
      if (workload.changes >= options.changes) break;
      const daemon = random.next() < 0.5 ? 'a' : 'b';
      // A random extra delay moves the kill into whatever the daemon is doing by then.
      await new Promise((resolve) => setTimeout(resolve, random.int(0, 300)));
      await kill(pair, daemon);
      kills.push({ daemon, afterChanges: workload.changes });
      // Sometimes the application keeps writing while the daemon is down.
      if (random.next() < 0.5) await workload.write(Math.min(random.int(1, 200), options.changes - workload.changes - 1));
      await (daemon === 'a' ? pair.startA() : pair.startB());
    }
    const differences = await converge(pair.dbA, pair.dbB, options.convergeMs);
    const documents = (await pair.dbA.db.info()).doc_count;
    const recaptured = recapturedDocuments(pair.statePathA);
    const deadLetters = [...pair.deadLetters('a'), ...pair.deadLetters('b')];
    const diagnosis = differences.length === 0 ? undefined : diagnose(pair);
    return { seed: options.seed, changes: workload.changes, kills, documents, differences, recaptured, deadLetters, ms: Date.now() - started, ...(diagnosis ? { diagnosis } : {}) };
  } finally {
    await pair.close();
  }
}

async function kill(pair: CouchPair, daemon: 'a' | 'b'): Promise<void> {
  await (daemon === 'a' ? pair.a : pair.b)?.kill9();
}

/**
 * Reads A's outbound log: per document, the `v` values captured must never go back (CouchDB may
 * skip revisions). A smaller `v` after a larger one is an old change published again after a crash,
 * which would undo the newer one on a subscriber that applied it in between.
 */
function recapturedDocuments(statePath: string): string[] {
  const store = openStateStore(statePath);
  try {
    const last = new Map<string, number>();
    const bad = new Set<string>();
    for (let after = 0n; ; ) {
      const records = store.readOutbound(after, 1000);
      if (records.length === 0) break;
      for (const record of records) {
        after = record.seq;
        const entry = parseEntry(record.payload);
        const id = String(entry.keys.find((k) => k.scheme === 'couchdb-id')?.value ?? entry.id);
        if (entry.deleted) {
          last.delete(id);
          continue;
        }
        const v = Number(entry.fields.find((f) => f.name === 'v')?.values[0]);
        const previous = last.get(id);
        if (previous !== undefined && v < previous) bad.add(id);
        last.set(id, v);
      }
    }
    return [...bad];
  } finally {
    store.close();
  }
}

function diagnose(pair: CouchPair): string {
  const store = openStateStore(pair.statePathA);
  const head = store.lastOutboundSeq();
  store.close();
  const b = openStateStore(pair.statePathB);
  const highWater = b.getHighWater('from-a', 'rel-a@localhost');
  b.close();
  const notable = (which: string, lines: Record<string, unknown>[] | undefined): string[] =>
    (lines ?? []).filter((l) => Number(l['level']) >= 40).slice(-15).map((l) => `${which}: ${JSON.stringify(l).slice(0, 400)}`);
  return [`A's log head ${head}, B's high-water mark for A ${highWater}`, ...notable('A', pair.a?.lines()), ...notable('B', pair.b?.lines())].join('\n');
}
