import { BatchCollector, createTestContext, instantiate, type MemoryPluginState } from 'pubsync/testing';
import type { SourceChange, UpsertChange } from '../../../src/plugin-api/index.js';
import { dbusSource } from '../../../plugins/dbus/index.js';
import { APP } from './notes-app-process.js';

/** A dbus source running against the notes app, pulled in the background as the pipeline would. */
export interface RunningSource {
  readonly collector: BatchCollector;
  waitFor(what: string, match: (change: SourceChange) => boolean, timeoutMs?: number): Promise<SourceChange>;
  waitForUpsert(id: string, match?: (change: UpsertChange) => boolean): Promise<UpsertChange>;
  /** The checkpoint of the last batch so far (what the core would have committed). */
  lastCheckpoint(): string | undefined;
  stop(): Promise<void>;
}

export function appOptions(address: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { bus: address, service: APP.service, objectPath: APP.path, interface: APP.iface, coalesceMs: 5, ...extra };
}

export async function runSource(
  address: string,
  state: MemoryPluginState,
  from: string | undefined,
  extra: Record<string, unknown> = {},
): Promise<RunningSource> {
  const controller = new AbortController();
  const context = createTestContext({ kind: 'source', state, signal: controller.signal });
  const source = await instantiate(dbusSource, appOptions(address, extra), context);
  const collector = new BatchCollector(source.start(from, controller.signal));
  const waitFor: RunningSource['waitFor'] = (what, match, timeoutMs = 10_000) =>
    collector.waitFor(what, (batches) => batches.flatMap((batch) => batch.changes).find(match), timeoutMs);
  return {
    collector,
    waitFor,
    waitForUpsert: async (id, match = () => true) =>
      (await waitFor(
        `an upsert of ${id}`,
        (change) => change.op === 'upsert' && change.keys[0]?.value === id && match(change),
      )) as UpsertChange,
    lastCheckpoint: () => collector.batches.at(-1)?.checkpoint,
    stop: async () => {
      controller.abort();
      await collector.ended(10_000);
      await source.close?.();
    },
  };
}

export function idOf(change: SourceChange): string | undefined {
  return change.keys[0]?.value;
}

export function fieldValues(change: UpsertChange, name: string): readonly unknown[] | undefined {
  return change.fields.find((field) => field.name === name)?.values;
}
