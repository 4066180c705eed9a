import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { PluginContext, Source, SourceBatch, SourceChange } from '../plugin-api/index.js';
import { BatchCollector } from './batch-collector.js';
import { MemoryPluginState } from './memory-plugin-state.js';
import { createTestContext } from './test-context.js';

/**
 * What a source plugin's author provides to run the source contract against the real system.
 * The suite calls setup() once per test and works only through the fixture it returns.
 */
export interface SourceHarness {
  /** An empty, isolated place in the real system for one test: a temp directory, a fresh database, an LDAP subtree. */
  setup(): Promise<SourceFixture>;
  /** How long a change may take to arrive. Default 10 000 ms. */
  readonly timeoutMs?: number;
}

export interface SourceFixture {
  /**
   * Creates the source under test against this fixture, e.g. `instantiate(definition, options, context)`.
   * Called again for a restart, with a context over the same durable state.
   */
  create(context: PluginContext): Source | Promise<Source>;
  /**
   * Creates or replaces object `id` in the real system, the way another application would. The
   * suite writes neutral string fields, `name` and `note`; map them onto what the system needs
   * (attributes of an object class, document properties). `note` must come back as some field's
   * value in the upsert, so the suite can tell revisions apart.
   */
  writeObject(id: string, fields: Readonly<Record<string, string>>): Promise<void>;
  /** Deletes object `id` from the real system. */
  deleteObject(id: string): Promise<void>;
  /**
   * Which object a change is about, as the id passed to writeObject; undefined for objects the
   * suite did not write (they are ignored). Default: the value of the change's first key.
   */
  idOf?(change: SourceChange): string | undefined;
  /** Releases the fixture (drops the database, removes the directory). */
  teardown?(): Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * Registers the source contract as node:test tests under `describe('source contract: <name>')`.
 * A source that passes it can be run by the pipeline: it delivers what exists and what changes,
 * deletes included, and resumes from a committed checkpoint without losing or repeating changes.
 */
export function sourceContract(name: string, harness: SourceHarness): void {
  const timeoutMs = harness.timeoutMs ?? DEFAULT_TIMEOUT_MS;

  describe(`source contract: ${name}`, () => {
    it('yields objects that exist before a first start', () =>
      withFixture(harness, async (run) => {
        const id = run.id('existing');
        await run.fixture.writeObject(id, { name: id, note: 'before start' });
        const source = await run.start(undefined);
        await source.waitForUpsert(id, 'before start');
      }));

    it('yields a change written after start', () =>
      withFixture(harness, async (run) => {
        const source = await run.start(undefined);
        const id = run.id('after');
        await run.fixture.writeObject(id, { name: id, note: 'after start' });
        await source.waitForUpsert(id, 'after start');
      }));

    it('yields an update as an upsert carrying the new values', () =>
      withFixture(harness, async (run) => {
        const source = await run.start(undefined);
        const id = run.id('updated');
        await run.fixture.writeObject(id, { name: id, note: 'first' });
        await source.waitForUpsert(id, 'first');
        await run.fixture.writeObject(id, { name: id, note: 'second' });
        await source.waitForUpsert(id, 'second');
      }));

    it('yields a delete as a delete change', () =>
      withFixture(harness, async (run) => {
        const source = await run.start(undefined);
        const id = run.id('deleted');
        await run.fixture.writeObject(id, { name: id, note: 'doomed' });
        await source.waitForUpsert(id, 'doomed');
        await run.fixture.deleteObject(id);
        await source.waitFor(`a delete of ${id}`, (change) => change.op === 'delete' && run.idOf(change) === id);
      }));

    it('resumes from a committed checkpoint: nothing lost, nothing committed repeated', () =>
      withFixture(harness, async (run) => {
        const first = run.id('one');
        const second = run.id('two');
        const whileDown = run.id('down');
        const afterRestart = run.id('restart');
        const before = await run.start(undefined);
        await run.fixture.writeObject(first, { name: first, note: 'one' });
        await run.fixture.writeObject(second, { name: second, note: 'two' });
        const seen = [await before.waitForUpsert(first, 'one'), await before.waitForUpsert(second, 'two')];
        // Commit what the pipeline would have stored: every batch up to the last that held one of them.
        const last = Math.max(...seen.map(({ batch }) => batch));
        const committed = before.collector.batches[last]?.checkpoint;
        await before.stop();

        await run.fixture.writeObject(whileDown, { name: whileDown, note: 'while down' });
        const after = await run.start(committed);
        await run.fixture.writeObject(afterRestart, { name: afterRestart, note: 'after restart' });
        await after.waitForUpsert(whileDown, 'while down');
        await after.waitForUpsert(afterRestart, 'after restart');
        const repeated = after.collector.changes.filter((change) => [first, second].includes(run.idOf(change) ?? ''));
        assert.deepEqual(repeated, [], 'changes committed before the restart were yielded again');
      }));

    it('ends its iteration when the signal aborts', () =>
      withFixture(harness, async (run) => {
        const source = await run.start(undefined);
        const id = run.id('running');
        await run.fixture.writeObject(id, { name: id, note: 'running' });
        await source.waitForUpsert(id, 'running');
        await source.stop();
      }));

    it('can be closed twice', () =>
      withFixture(harness, async (run) => {
        const source = await run.fixture.create(run.context());
        await source.close?.();
        await source.close?.();
      }));
  });

  interface Started {
    readonly collector: BatchCollector;
    waitFor(what: string, match: (change: SourceChange) => boolean): Promise<{ change: SourceChange; batch: number }>;
    /** Waits for an upsert of `id` that carries `note` as some field's value. */
    waitForUpsert(id: string, note: string): Promise<{ change: SourceChange; batch: number }>;
    stop(): Promise<void>;
  }

  interface Run {
    readonly fixture: SourceFixture;
    id(label: string): string;
    idOf(change: SourceChange): string | undefined;
    /** A context over this test's durable state (kept across restarts), with a fresh signal. */
    context(): PluginContext;
    start(from: string | undefined): Promise<Started>;
  }

  async function withFixture(harness: SourceHarness, test: (run: Run) => Promise<void>): Promise<void> {
    const fixture = await harness.setup();
    const state = new MemoryPluginState();
    const prefix = `contract-${randomUUID().slice(0, 8)}`;
    const cleanups: (() => Promise<void>)[] = [];
    const run: Run = {
      fixture,
      id: (label) => `${prefix}-${label}`,
      idOf: (change) => (fixture.idOf ? fixture.idOf(change) : change.keys[0]?.value),
      context: () => {
        const controller = new AbortController();
        cleanups.push(async () => controller.abort());
        return createTestContext({ kind: 'source', name: 'contract', plugin: name, state, signal: controller.signal });
      },
      start: async (from) => {
        const controller = new AbortController();
        const source = await fixture.create(run.context());
        const collector = new BatchCollector(source.start(from, controller.signal));
        let stopped = false;
        const stop = async (): Promise<void> => {
          if (stopped) return;
          stopped = true;
          controller.abort();
          await collector.ended(timeoutMs);
          await source.close?.();
        };
        cleanups.push(stop);
        const waitFor: Started['waitFor'] = (what, match) =>
          collector.waitFor(what, (batches) => findChange(batches, match), timeoutMs);
        return {
          collector,
          waitFor,
          waitForUpsert: (id, note) =>
            waitFor(`an upsert of ${id} with "${note}"`, (change) => run.idOf(change) === id && carries(change, note)),
          stop,
        };
      },
    };
    try {
      await test(run);
    } finally {
      // Stop sources before the fixture goes away, newest first.
      for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
      await fixture.teardown?.();
    }
  }
}

function findChange(
  batches: readonly SourceBatch[],
  match: (change: SourceChange) => boolean,
): { change: SourceChange; batch: number } | undefined {
  for (const [batch, { changes }] of batches.entries()) {
    const change = changes.find(match);
    if (change !== undefined) return { change, batch };
  }
  return undefined;
}

function carries(change: SourceChange, value: string): boolean {
  return change.op === 'upsert' && change.fields.some((field) => (field.values as readonly unknown[]).includes(value));
}
