/**
 * PROTOTYPE (bench/prototypes, issue 11): the state store opened with synchronous=NORMAL instead
 * of FULL. In WAL mode a commit then writes the WAL without fsync (SQLite fsyncs at checkpoints):
 * a process crash loses nothing; a power loss may undo the last commits, which the design already
 * survives (checkpoint and log commit together, so capture redoes them; apply is idempotent and
 * merges skip what landed; republishing reuses item ids). Swapped in by bench/support/swap-hooks.mjs.
 */
import { openStateStore as openWithDefaults, type StateStoreOptions } from '../../src/state/sqlite-state-store.js';

export * from '../../src/state/sqlite-state-store.js';

export function openStateStore(path: string, options: StateStoreOptions = {}): ReturnType<typeof openWithDefaults> {
  return openWithDefaults(path, { synchronous: 'normal', ...options });
}
