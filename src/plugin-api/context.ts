import type { Logger } from 'pino';

/** Wall-clock time, injected so tests control it. Milliseconds since the epoch. */
export interface Clock {
  now(): number;
}

/**
 * Small durable key-value state for a plugin (content hashes, revisions it wrote). Values are
 * strings; writes are durable when the promise resolves.
 */
export interface PluginStore {
  get(key: string): Promise<string | undefined>;
  put(key: string, value: string): Promise<void>;
  delete(key: string): Promise<void>;
  /** Entries whose key starts with prefix, in key order. */
  entries(prefix?: string): AsyncIterable<readonly [string, string]>;
}

/** What the host hands a plugin instance. Plugins never see the DI container. */
export interface PluginContext {
  /** The instance name from the config (`sources[].name`, `sinks[].name`). */
  readonly name: string;
  readonly logger: Logger;
  readonly clock: Clock;
  /** Aborted when the daemon stops. */
  readonly signal: AbortSignal;
  /** This replica: its id, and its JID when XMPP is configured. */
  readonly replica: { readonly id: number; readonly jid?: string };
  /** The last checkpoint committed for this instance (sources), for diagnostics and snapshots. */
  checkpoint(): Promise<string | undefined>;
  /**
   * Durable state. Without a scope it is private to this instance; instances that name the same
   * scope share it (a sink records the revisions it wrote, the source of the same database skips them).
   */
  store(scope?: string): PluginStore;
}
