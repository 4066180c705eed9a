import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { formatCsn, parseCsn } from '../../../src/format/index.js';
import type { Entry, Field, ObjectEntry } from '../../../src/format/model.js';
import { merge } from '../../../src/pipeline/merge.js';
import { isAlive, type ObjectVersion } from '../../../src/pipeline/object-version.js';
import { capturePipeline } from '../../support/pipeline-fixture.js';

/**
 * Merge is order-independent: every replica that holds the same set of entries of an object ends in
 * the same state, whatever order and grouping they came in and however often. The histories are
 * made the way real replicas make them: each replica edits its own view (full objects, unchanged
 * fields keep their CSN, a removed field travels empty), deletes, re-creates, and now and then
 * receives what another replica made; clocks are hybrid logical clocks with ties on time.
 */

const ID = 'urn:uuid:6f1c2c6e-8a47-4c1e-9a55-1f7d3c2b0a11';
const NAMES = ['a', 'b', 'c', 'd'] as const;
const BASE_TIME = 1_767_225_600_000_000n;

/** The sink in miniature: the field values it holds, and what the core recorded of the object. */
interface ModelState {
  readonly version: ObjectVersion | undefined;
  readonly values: ReadonlyMap<string, readonly string[]>;
}

const EMPTY: ModelState = { version: undefined, values: new Map() };

function step(state: ModelState, entry: Entry): ModelState {
  const decision = merge(state.version, entry);
  switch (decision.action) {
    case 'skip':
      return state;
    case 'delete':
      return { version: decision.next, values: new Map() };
    case 'clear': {
      const values = new Map(state.values);
      for (const name of decision.fields) values.delete(name);
      return { version: decision.next, values };
    }
    case 'apply': {
      // A sink re-creates a deleted object from nothing.
      const values = new Map(isAlive(state.version) ? state.values : []);
      for (const field of decision.entry.fields) if (decision.fields.includes(field.name)) values.set(field.name, field.values as string[]);
      return { version: decision.next, values };
    }
  }
}

function run(entries: readonly Entry[], from: ModelState = EMPTY): ModelState {
  return entries.reduce(step, from);
}

/** What the application shows: whether the object exists and its non-empty fields. */
function visible(state: ModelState): string {
  if (!isAlive(state.version)) return 'absent';
  const fields = [...state.values].filter(([, v]) => v.length > 0).sort(([x], [y]) => (x < y ? -1 : 1));
  return JSON.stringify(fields);
}

// --- history generation --------------------------------------------------------------------

type Command =
  | { kind: 'edit'; replica: number; tick: number; set: Partial<Record<(typeof NAMES)[number], string | null>> }
  | { kind: 'delete'; replica: number; tick: number }
  | { kind: 'receive'; replica: number; from: number; upTo: number };

const replicaArb = fc.integer({ min: 1, max: 3 });
const commandArb: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('edit' as const),
      replica: replicaArb,
      tick: fc.integer({ min: 0, max: 2 }),
      set: fc.dictionary(fc.constantFrom(...NAMES), fc.option(fc.constantFrom('x', 'y', 'z'), { nil: null }), { minKeys: 1, maxKeys: 3 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), replica: replicaArb, tick: fc.integer({ min: 0, max: 2 }) }) },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('receive' as const), replica: replicaArb, from: replicaArb, upTo: fc.nat({ max: 40 }) }),
  },
);

/** A hybrid logical clock: greater than all it issued or observed; a tick of 0 keeps the time (ties). */
class Clock {
  time = BASE_TIME;
  counter = 0;
  constructor(readonly replica: number) {}
  next(tick: number): string {
    if (tick > 0) [this.time, this.counter] = [this.time + BigInt(tick), 0];
    else this.counter++;
    return formatCsn({ time: this.time, counter: this.counter, replica: this.replica, mod: 0 });
  }
  observe(csn: string): void {
    const { time, counter } = parseCsn(csn);
    if (time > this.time || (time === this.time && counter > this.counter)) [this.time, this.counter] = [time, counter];
  }
}

interface ReplicaSim {
  readonly clock: Clock;
  state: ModelState;
  /** The CSNs of the fields as this replica's application holds them. */
  csns: Map<string, string>;
  /** The fields the object had when it was deleted: a re-creation sends them empty (capture does). */
  beforeDelete: string[];
  readonly made: Entry[];
  readonly seen: Set<Entry>;
}

/**
 * Plays the commands on three replicas and returns every entry any of them made. Unless
 * `concurrentLifecycle`, a create, delete or re-creation happens on a replica that has received
 * everything, and reaches every replica before the next command (edits stay concurrent).
 */
function history(commands: readonly Command[], concurrentLifecycle: boolean): Entry[] {
  const replicas = new Map<number, ReplicaSim>(
    [1, 2, 3].map((r) => [r, { clock: new Clock(r), state: EMPTY, csns: new Map(), beforeDelete: [], made: [], seen: new Set() }]),
  );
  const all: Entry[] = [];
  const get = (r: number): ReplicaSim => {
    const replica = replicas.get(r);
    if (!replica) throw new Error(`no replica ${r}`);
    return replica;
  };
  const alive = (sim: ReplicaSim): boolean => isAlive(sim.state.version);
  const origin = (r: number): Entry['origin'] => ({ jid: `r${r}@localhost`, replica: r });

  const receive = (sim: ReplicaSim, entries: readonly Entry[]): void => {
    for (const entry of entries) {
      if (sim.seen.has(entry)) continue;
      sim.seen.add(entry);
      sim.clock.observe(entry.csn);
      sim.state = step(sim.state, entry);
      if (!alive(sim)) forget(sim);
      else sim.csns = new Map([...sim.state.values.keys()].map((name) => [name, sim.state.version?.csns[name] ?? entry.csn]));
    }
  };
  const forget = (sim: ReplicaSim): void => {
    if (sim.csns.size > 0) sim.beforeDelete = [...sim.csns.keys()];
    sim.csns = new Map();
  };
  const syncAll = (): void => {
    for (const sim of replicas.values()) receive(sim, all);
  };

  for (const command of commands) {
    const sim = get(command.replica);
    if (command.kind === 'receive') {
      if (command.from !== command.replica) receive(sim, get(command.from).made.slice(0, command.upTo));
      continue;
    }
    const lifecycle = command.kind === 'delete' || !alive(sim);
    if (lifecycle && !concurrentLifecycle) syncAll();
    let entry: Entry;
    if (command.kind === 'delete') {
      if (!alive(sim)) continue;
      entry = { id: ID, deleted: true, origin: origin(command.replica), type: 'note', tags: [], keys: [], csn: sim.clock.next(command.tick) };
    } else {
      const csn = sim.clock.next(command.tick);
      const recreated = !alive(sim);
      const values = new Map<string, readonly string[]>(recreated ? sim.beforeDelete.map((name) => [name, []]) : sim.state.values);
      const fieldCsns = new Map(recreated ? [] : sim.csns);
      for (const [name, value] of Object.entries(command.set)) {
        values.set(name, value === null ? [] : [value]);
        fieldCsns.set(name, csn);
      }
      // Capture sends the object as the application holds it: every field, a removed one empty.
      const fields: Field[] = [...values].map(([name, v]) => ({ name, type: 'string', csn: fieldCsns.get(name) ?? csn, values: v }));
      entry = {
        id: ID,
        deleted: false,
        origin: origin(command.replica),
        type: 'note',
        tags: [],
        keys: [],
        csn,
        fields,
        changed: Object.keys(command.set),
        children: [],
        attachments: [],
      } satisfies ObjectEntry;
    }
    sim.made.push(entry);
    sim.seen.add(entry);
    all.push(entry);
    // The replica's own application holds what it just wrote, exactly as a receiver would apply it.
    sim.state = step(sim.state, entry);
    if (entry.deleted) forget(sim);
    else for (const field of entry.fields) sim.csns.set(field.name, field.csn);
    if (lifecycle && !concurrentLifecycle) syncAll();
  }
  return all;
}

/** Deletes and re-creations concurrent with edits, the hard case, as well as causally ordered ones. */
const historyArb = fc
  .tuple(fc.array(commandArb, { minLength: 1, maxLength: 30 }), fc.boolean())
  .map(([commands, concurrentLifecycle]) => history(commands, concurrentLifecycle));

function permutationOf<T>(items: readonly T[]): fc.Arbitrary<T[]> {
  return fc.shuffledSubarray([...items], { minLength: items.length, maxLength: items.length });
}

const runs = { numRuns: Number(process.env.PUBSYNC_PROPERTY_RUNS ?? 2000) };

describe('merge properties over random multi-replica histories', () => {
  it('ends in the same state whatever the order the entries arrive in', () => {
    fc.assert(
      fc.property(
        historyArb.chain((entries) => fc.tuple(fc.constant(entries), permutationOf(entries))),
        ([entries, shuffled]) => {
          assert.equal(visible(run(shuffled)), visible(run(entries)));
        },
      ),
      runs,
    );
  });

  it('changes nothing when an entry arrives again, at any later point (idempotent)', () => {
    fc.assert(
      fc.property(
        historyArb.chain((entries) =>
          fc.tuple(fc.constant(entries), permutationOf(entries), fc.array(fc.nat(), { minLength: 1, maxLength: 5 })),
        ),
        ([entries, shuffled, picks]) => {
          const expected = visible(run(entries));
          // Each replay re-sends an entry that already arrived.
          const withReplays = [...shuffled];
          for (const pick of picks) {
            const at = (pick % withReplays.length) + 1;
            const replayed = withReplays[pick % at];
            if (replayed) withReplays.splice(at, 0, replayed);
          }
          assert.equal(visible(run(withReplays)), expected);
          const end = run(shuffled);
          for (const entry of entries) assert.deepEqual(step(end, entry), end, 'a replay after everything changes nothing');
        },
      ),
      runs,
    );
  });

  it('merging two groups separately, then one into the other, equals merging all at once (grouping)', () => {
    fc.assert(
      fc.property(
        historyArb.chain((entries) => fc.tuple(fc.constant(entries), fc.array(fc.boolean(), { minLength: entries.length, maxLength: entries.length }))),
        ([entries, sides]) => {
          const left = entries.filter((_, i) => sides[i]);
          const right = entries.filter((_, i) => !sides[i]);
          const all = visible(run(entries));
          // One replica holds the left group, another the right; each then receives the other's.
          assert.equal(visible(run(right, run(left))), all);
          assert.equal(visible(run(left, run(right))), all);
        },
      ),
      runs,
    );
  });
});

describe('capture of a re-creation (the premise of the histories above)', () => {
  it('sends the fields the object had before its delete as removed, with the re-creation CSN', () => {
    const pipeline = capturePipeline();
    try {
      const keys = [{ scheme: 'test-id', value: 'n1' }];
      const field = (name: string, value: string) => ({ name, type: 'string' as const, values: [value] });
      pipeline.capture.commit('mem', { changes: [{ op: 'upsert', keys, type: 'note', fields: [field('a', 'x'), field('b', 'y')] }], checkpoint: '1' });
      pipeline.capture.commit('mem', { changes: [{ op: 'delete', keys, type: 'note' }], checkpoint: '2' });
      pipeline.capture.commit('mem', { changes: [{ op: 'upsert', keys, type: 'note', fields: [field('b', 'z')] }], checkpoint: '3' });
      const recreation = pipeline.feed().entries.at(-1);
      assert.ok(recreation && !recreation.deleted);
      const byName = new Map(recreation.fields.map((f) => [f.name, f]));
      assert.deepEqual(byName.get('a')?.values, [], 'a, gone since the delete, travels empty');
      assert.equal(byName.get('a')?.csn, recreation.csn);
      assert.deepEqual(byName.get('b')?.values, ['z']);
      assert.deepEqual([...recreation.changed].sort(), ['a', 'b']);
    } finally {
      pipeline.close();
    }
  });
});
