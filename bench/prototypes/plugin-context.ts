/**
 * PROTOTYPE (bench/prototypes, issue 11): a copy of src/plugin-host/plugin-context.ts whose
 * PluginStore coalesces the puts and deletes issued in the same tick into one SQLite transaction
 * (one fsync) instead of one autocommit each. Swapped in by bench/support/swap-hooks.mjs.
 */
import type { Logger } from 'pino';
import type { Clock, PluginContext, PluginKind, PluginStore } from '../../src/plugin-api/index.js';
import type { StateStore } from '../../src/state/state-store.js';

/** The part of the state store plugins reach through their context. */
export type PluginStateStore = Pick<StateStore, 'getCheckpoint' | 'kvGet' | 'kvPut' | 'kvDelete' | 'kvEntries'>;

export interface PluginContextOptions {
  readonly kind: PluginKind;
  /** The instance name from the config. */
  readonly name: string;
  /** The plugin name, for log bindings. */
  readonly plugin: string;
  /** The parent logger; the context gets a child bound to {plugin, kind, instance}. */
  readonly logger: Logger;
  readonly clock: Clock;
  readonly signal: AbortSignal;
  readonly replica: PluginContext['replica'];
  readonly state: PluginStateStore;
}

const PAGE_SIZE = 100;

export function createPluginContext(options: PluginContextOptions): PluginContext {
  const { kind, name, plugin, state } = options;
  const logger = options.logger.child({ plugin, kind, instance: name });
  return {
    name,
    logger,
    clock: options.clock,
    signal: options.signal,
    replica: options.replica,
    // Checkpoints are kept per source instance name; other kinds have none.
    checkpoint: () => Promise.resolve(kind === 'source' ? state.getCheckpoint(name) : undefined),
    store: (scope) => kvPluginStore(state, storeScope(kind, name, scope)),
  };
}

/**
 * The kv scope of a store. Private stores are named after the instance; shared ones get their
 * own namespace so that no instance name can collide with a shared scope.
 */
export function storeScope(kind: PluginKind, instance: string, scope?: string): string {
  if (scope === undefined) return `${kind}:${instance}`;
  if (scope.length === 0) throw new TypeError('a store scope must not be empty');
  return `shared:${scope}`;
}

/** A PluginStore over the state store's synchronous kv methods. */
export function kvPluginStore(state: PluginStateStore, scope: string): PluginStore {
  const writes = writeBatcher(state);
  return {
    get: (key) => Promise.resolve().then(() => state.kvGet(scope, key)),
    put: (key, value) => writes.add(() => state.kvPut(scope, key, value)),
    delete: (key) => writes.add(() => state.kvDelete(scope, key)),
    entries: (prefix = '') => pages(state, scope, prefix),
  };
}

// Paged so a large scope is never read into memory at once.
async function* pages(
  state: PluginStateStore,
  scope: string,
  prefix: string,
): AsyncGenerator<readonly [string, string]> {
  let after: string | undefined;
  for (;;) {
    const page = state.kvEntries(scope, prefix, after, PAGE_SIZE);
    yield* page;
    const last = page.at(-1);
    if (page.length < PAGE_SIZE || last === undefined) return;
    after = last[0];
  }
}

/**
 * Writes queued in the same tick run in one transaction at the next microtask; each promise
 * resolves once that transaction committed (as durable as before), or rejects with its error.
 */
function writeBatcher(state: PluginStateStore): { add(write: () => void): Promise<void> } {
  const transaction = (state as Partial<Pick<StateStore, 'transaction'>>).transaction?.bind(state);
  let queue: { write: () => void; resolve: () => void; reject: (error: unknown) => void }[] | undefined;
  const flush = (): void => {
    const batch = queue ?? [];
    queue = undefined;
    try {
      if (transaction) transaction(() => batch.forEach((w) => w.write()));
      else batch.forEach((w) => w.write());
    } catch {
      // One failed write must fail only its own promise: redo them one by one.
      for (const w of batch) {
        try {
          w.write();
          w.resolve();
        } catch (error) {
          w.reject(error);
        }
      }
      return;
    }
    for (const w of batch) w.resolve();
  };
  return {
    add: (write) =>
      new Promise<void>((resolve, reject) => {
        if (!queue) {
          queue = [];
          queueMicrotask(flush);
        }
        queue.push({ write, resolve, reject });
      }),
  };
}
