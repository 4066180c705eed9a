import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { ApplyOutcome, Entry, ObjectEntry, PluginContext, Sink, SinkOperation } from '../plugin-api/index.js';
import { objectEntry, reviseEntry, tombstoneOf } from './entries.js';
import { MemoryPluginState } from './memory-plugin-state.js';
import { createTestContext } from './test-context.js';

/** An object as the real system holds it, in neutral terms: field name to its values as text. */
export type ObjectState = Readonly<Record<string, readonly string[]>>;

/**
 * What a sink plugin's author provides to run the sink contract against the real system. The
 * suite calls setup() once per test and works only through the fixture it returns.
 */
export interface SinkHarness {
  /** An empty, isolated place in the real system for one test. */
  setup(): Promise<SinkFixture>;
}

export interface SinkFixture {
  /** Creates the sink under test against this fixture, e.g. `instantiate(definition, options, context)`. */
  create(context: PluginContext): Sink | Promise<Sink>;
  /**
   * The object the sink wrote under `localKey` (from an 'applied' outcome), read back from the
   * real system and mapped to the suite's neutral field names; undefined when it does not exist.
   * Fields the system adds on its own may be included: the suite checks only `name` and `note`.
   */
  read(localKey: string): Promise<ObjectState | undefined>;
  /** An entry the system refuses as a record (a schema violation, a forbidden type, an invalid id). */
  makeRefused(): Entry | Promise<Entry>;
  /**
   * Adapts the entries the suite builds (type "note", string fields `name` and `note`) to what
   * this sink accepts, e.g. adds an object class or a required field. Default: unchanged.
   */
  adapt?(entry: ObjectEntry): ObjectEntry;
  teardown?(): Promise<void>;
}

type Status = ApplyOutcome['status'];

/**
 * Registers the sink contract as node:test tests under `describe('sink contract: <name>')`. A
 * sink that passes it can be driven by the core: it creates, updates and deletes; applying the
 * same batch again changes nothing; a refused record is an outcome, not a failed batch.
 */
export function sinkContract(name: string, harness: SinkHarness): void {
  describe(`sink contract: ${name}`, () => {
    it('applies a create and reports the local key', () =>
      withFixture(async (run) => {
        const entry = run.entry('created', 'first');
        const [outcome] = await run.apply([create(entry)]);
        const key = appliedKey(outcome);
        await run.expectState(key, { name: run.nameOf(entry), note: 'first' });
      }));

    it('applies an update to the fields it names', () =>
      withFixture(async (run) => {
        const entry = run.entry('updated', 'first');
        const key = appliedKey((await run.apply([create(entry)]))[0]);
        const revised = reviseEntry(entry, { note: 'second' });
        const [outcome] = await run.apply([{ entry: revised, fields: ['note'], localKey: key }]);
        await run.expectState(appliedKey(outcome), { name: run.nameOf(entry), note: 'second' });
      }));

    it('returns one outcome per operation, in order', () =>
      withFixture(async (run) => {
        assert.deepEqual(await run.apply([]), [], 'an empty batch has no outcomes');
        const entries = ['a', 'b', 'c'].map((label) => run.entry(label, `note ${label}`));
        const outcomes = await run.apply(entries.map(create));
        const keys = outcomes.map(appliedKey);
        assert.equal(new Set(keys).size, 3, 'three objects need three local keys');
        for (const [i, entry] of entries.entries()) {
          await run.expectState(keys[i] ?? '', { name: run.nameOf(entry), note: `note ${['a', 'b', 'c'][i]}` });
        }
      }));

    it('is idempotent: the same batch twice leaves the same state', () =>
      withFixture(async (run) => {
        const once = run.entry('once', 'one');
        const twice = run.entry('twice', 'two');
        // As after a crash before the outcomes were recorded: the core sends it again, without local keys.
        const batch = [create(once), create(twice)];
        const first = await run.apply(batch);
        const keys = [appliedKey(first[0]), appliedKey(first[1])];
        const states = await Promise.all(keys.map((key) => run.fixture.read(key)));
        const again = await run.apply(batch);
        assertStatuses(again, ['applied', 'skipped']);
        again.forEach((outcome, i) => {
          if (outcome.status !== 'applied') return;
          assert.equal(outcome.localKey, keys[i], 'applied again under another key: a duplicate');
        });
        assert.deepEqual(await Promise.all(keys.map((key) => run.fixture.read(key))), states);

        const onceKey = appliedKey(first[0]);
        const update = [{ entry: reviseEntry(once, { note: 'changed' }), fields: ['note'], localKey: onceKey }];
        assertStatuses(await run.apply(update), ['applied']);
        assertStatuses(await run.apply(update), ['applied', 'skipped']);
        await run.expectState(onceKey, { name: run.nameOf(once), note: 'changed' });
      }));

    it('deletes on a tombstone, and again without complaint', () =>
      withFixture(async (run) => {
        const entry = run.entry('deleted', 'doomed');
        const key = appliedKey((await run.apply([create(entry)]))[0]);
        const tombstone = tombstoneOf(entry);
        assertStatuses(await run.apply([{ entry: tombstone, fields: [], localKey: key }]), ['applied', 'skipped']);
        assert.equal(await run.fixture.read(key), undefined, 'the object is still there after its tombstone');
        assertStatuses(await run.apply([{ entry: tombstone, fields: [], localKey: key }]), ['applied', 'skipped']);
      }));

    it('finds the object of a tombstone by its id when the local key is not known', () =>
      withFixture(async (run) => {
        const entry = run.entry('unkeyed', 'doomed');
        const key = appliedKey((await run.apply([create(entry)]))[0]);
        assertStatuses(await run.apply([{ entry: tombstoneOf(entry), fields: [] }]), ['applied', 'skipped']);
        assert.equal(await run.fixture.read(key), undefined, 'the object is still there after its tombstone');
      }));

    it('applies or skips a tombstone for an object it never had', () =>
      withFixture(async (run) => {
        const tombstone = tombstoneOf(run.entry('never', 'never'));
        assertStatuses(await run.apply([{ entry: tombstone, fields: [] }]), ['applied', 'skipped']);
      }));

    it('rejects a refused record as an outcome and applies the rest of the batch', () =>
      withFixture(async (run) => {
        const before = run.entry('before', 'kept');
        const after = run.entry('after', 'kept too');
        const refused = await run.fixture.makeRefused();
        const outcomes = await run.apply([create(before), operationFor(refused), create(after)]);
        const rejected = outcomes[1];
        assert.equal(rejected?.status, 'rejected', `the refused record came back ${JSON.stringify(rejected)}`);
        assert.ok(rejected.code.length > 0 && rejected.reason.length > 0, 'a rejection needs a code and a reason');
        await run.expectState(appliedKey(outcomes[0]), { name: run.nameOf(before), note: 'kept' });
        await run.expectState(appliedKey(outcomes[2]), { name: run.nameOf(after), note: 'kept too' });
      }));

    it('can be closed twice', () =>
      withFixture(async (run) => {
        await run.sink.close?.();
        await run.sink.close?.();
      }));
  });

  interface Run {
    readonly fixture: SinkFixture;
    readonly sink: Sink;
    /** An entry of type "note" with fields name and note, as adapted by the fixture. */
    entry(label: string, note: string): ObjectEntry;
    nameOf(entry: ObjectEntry): string;
    apply(batch: readonly SinkOperation[]): Promise<readonly ApplyOutcome[]>;
    expectState(key: string, expected: Readonly<Record<string, string>>): Promise<void>;
  }

  async function withFixture(test: (run: Run) => Promise<void>): Promise<void> {
    const fixture = await harness.setup();
    const controller = new AbortController();
    const prefix = `contract-${randomUUID().slice(0, 8)}`;
    const context = createTestContext({
      kind: 'sink',
      name: 'contract',
      plugin: name,
      state: new MemoryPluginState(),
      signal: controller.signal,
    });
    let sink: Sink | undefined;
    try {
      sink = await fixture.create(context);
      const target = sink;
      const names = new WeakMap<ObjectEntry, string>();
      await test({
        fixture,
        sink,
        entry(label, note) {
          const entryName = `${prefix}-${label}`;
          const entry = objectEntry({ type: 'note', fields: { name: entryName, note } });
          const adapted = fixture.adapt ? fixture.adapt(entry) : entry;
          names.set(adapted, entryName);
          return adapted;
        },
        nameOf: (entry) => names.get(entry) ?? '',
        async apply(batch) {
          const outcomes = await target.apply(batch, controller.signal);
          assert.equal(outcomes.length, batch.length, 'apply() must return one outcome per operation');
          return outcomes;
        },
        async expectState(key, expected) {
          const state = await fixture.read(key);
          assert.ok(state !== undefined, `nothing found under local key ${JSON.stringify(key)}`);
          for (const [field, value] of Object.entries(expected)) {
            assert.deepEqual(state[field], [value], `field ${field} of ${key}`);
          }
        },
      });
    } finally {
      controller.abort();
      await sink?.close?.().catch(() => undefined);
      await fixture.teardown?.();
    }
  }
}

function create(entry: Entry): SinkOperation {
  return { entry, fields: entry.deleted ? [] : entry.fields.map((field) => field.name) };
}

const operationFor = create;

function appliedKey(outcome: ApplyOutcome | undefined): string {
  assert.equal(outcome?.status, 'applied', `expected 'applied', got ${JSON.stringify(outcome)}`);
  assert.ok(outcome.localKey.length > 0, 'an applied outcome needs a local key');
  return outcome.localKey;
}

function assertStatuses(outcomes: readonly ApplyOutcome[], allowed: readonly Status[]): void {
  for (const outcome of outcomes) {
    assert.ok(allowed.includes(outcome.status), `expected ${allowed.join(' or ')}, got ${JSON.stringify(outcome)}`);
  }
}
