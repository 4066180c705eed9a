import type { Logger } from 'pino';
import type { Clock, PluginContext, PluginKind, PluginStore } from '../plugin-api/index.js';
import type { StateStore } from '../state/state-store.js';

/** The part of the state store plugins reach through their context. */
export type PluginStateStore = Pick<StateStore, 'getCheckpoint' | 'kvGet' | 'kvPut' | 'kvDelete' | 'kvEntries'> &
  Partial<Pick<StateStore, 'transaction'>>;

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

/**
 * A PluginStore over the state store's synchronous kv methods. Writes issued in the same tick (a
 * sink recording every document of a bulk write) are committed in one transaction: a commit costs
 * a disk flush, and one per record was the sink's bottleneck.
 */
export function kvPluginStore(state: PluginStateStore, scope: string): PluginStore {
  let pending: { write: () => void; done: () => void; fail: (error: unknown) => void }[] = [];
  const flush = (): void => {
    const writes = pending;
    pending = [];
    if (writes.length === 0) return;
    try {
      const all = (): void => writes.forEach(({ write }) => write());
      if (state.transaction) state.transaction(all);
      else all();
    } catch (error) {
      writes.forEach(({ fail }) => fail(error));
      return;
    }
    writes.forEach(({ done }) => done());
  };
  const queue = (write: () => void): Promise<void> =>
    new Promise((done, fail) => {
      if (pending.length === 0) queueMicrotask(flush);
      pending.push({ write, done, fail });
    });
  return {
    // A read sees the writes queued before it.
    get: (key) => Promise.resolve().then(() => (pending.length > 0 ? flush() : undefined)).then(() => state.kvGet(scope, key)),
    put: (key, value) => queue(() => state.kvPut(scope, key, value)),
    delete: (key) => queue(() => state.kvDelete(scope, key)),
    entries: (prefix = '') => {
      flush();
      return pages(state, scope, prefix);
    },
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
