import type { PluginStateStore } from '../plugin-host/plugin-context.js';

/**
 * The plugin-facing part of the state store, in memory: checkpoints and scoped key-value
 * entries, with the SQLite store's ordering (code point order, `afterKey` exclusive). Share one
 * between two contexts to simulate a restart with the same durable state.
 */
export class MemoryPluginState implements PluginStateStore {
  readonly #checkpoints = new Map<string, string>();
  readonly #kv = new Map<string, Map<string, string>>();

  getCheckpoint(source: string): string | undefined {
    return this.#checkpoints.get(source);
  }

  setCheckpoint(source: string, checkpoint: string): void {
    this.#checkpoints.set(source, checkpoint);
  }

  kvGet(scope: string, key: string): string | undefined {
    return this.#kv.get(scope)?.get(key);
  }

  kvPut(scope: string, key: string, value: string): void {
    let entries = this.#kv.get(scope);
    if (entries === undefined) this.#kv.set(scope, (entries = new Map()));
    entries.set(key, value);
  }

  kvDelete(scope: string, key: string): void {
    this.#kv.get(scope)?.delete(key);
  }

  kvEntries(scope: string, prefix: string, afterKey: string | undefined, limit: number): [string, string][] {
    return [...(this.#kv.get(scope) ?? new Map<string, string>())]
      .filter(([key]) => key.startsWith(prefix) && (afterKey === undefined || compare(key, afterKey) > 0))
      .sort(([a], [b]) => compare(a, b))
      .slice(0, Math.max(0, limit));
  }

  /** Every scope with entries, for assertions on where a plugin kept its state. */
  scopes(): string[] {
    return [...this.#kv].filter(([, entries]) => entries.size > 0).map(([scope]) => scope);
  }
}

// Code point order, as SQLite compares text (not UTF-16 unit order, not locale order).
function compare(a: string, b: string): number {
  const left = [...a];
  const right = [...b];
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    const diff = (left[i]?.codePointAt(0) ?? 0) - (right[i]?.codePointAt(0) ?? 0);
    if (diff !== 0) return diff;
  }
  return left.length - right.length;
}
