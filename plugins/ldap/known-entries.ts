import type { PluginStore, SourceChange } from '../../src/plugin-api/index.js';
import { DN_KEY, UUID_KEY } from './mapping.js';

const PREFIX = 'known:';

export interface KnownEntry {
  readonly uuid: string;
  readonly dn: string;
  readonly type: string;
}

/** uuid -> [type, dn] */
type Chunk = Record<string, [string, string]>;

/**
 * The entries this source has published and not deleted, by entryUUID, in the plugin's durable
 * store. A resync after a purged log compares the subtree against it: what is known but no longer
 * there was deleted while the log was lost, and gets a tombstone instead of vanishing silently.
 *
 * Kept in 256 chunks by the uuid's first byte: a durable put costs about a commit, so a snapshot
 * writes 256 chunks instead of one key per entry, and a modify that changes neither type nor DN
 * (most writes) only reads.
 */
export class KnownEntries {
  readonly #store: PluginStore;

  constructor(store: PluginStore) {
    this.#store = store;
  }

  /**
   * Records what a batch did; called once the core has stored the batch. Each chunk the batch
   * touches is read and written once, and the writes go out together (one commit for the batch).
   */
  async record(changes: readonly SourceChange[]): Promise<void> {
    const chunks = new Map<string, Chunk>();
    const dirty = new Set<string>();
    for (const change of changes) {
      const uuid = change.keys.find((key) => key.scheme === UUID_KEY)?.value;
      if (uuid === undefined) continue;
      const name = chunkOf(uuid);
      let chunk = chunks.get(name);
      if (chunk === undefined) {
        chunk = await this.#read(name);
        chunks.set(name, chunk);
      }
      const before = chunk[uuid];
      if (change.op === 'delete') {
        if (before === undefined) continue;
        delete chunk[uuid];
      } else {
        const dn = change.keys.find((key) => key.scheme === DN_KEY)?.value ?? '';
        if (before?.[0] === change.type && before[1] === dn) continue;
        chunk[uuid] = [change.type, dn];
      }
      dirty.add(name);
    }
    // Issued in the same tick: the plugin store commits them in one transaction.
    await Promise.all([...dirty].map((name) => this.#write(name, chunks.get(name) ?? {})));
  }

  /** Replaces the whole set with what a complete snapshot saw. */
  async replace(present: ReadonlyMap<string, KnownEntry>): Promise<void> {
    const chunks = new Map<string, Chunk>();
    for (const entry of present.values()) {
      const name = chunkOf(entry.uuid);
      const chunk = chunks.get(name) ?? {};
      chunk[entry.uuid] = [entry.type, entry.dn];
      chunks.set(name, chunk);
    }
    for (let i = 0; i < 256; i++) {
      const name = i.toString(16).padStart(2, '0');
      const next = chunks.get(name);
      const current = await this.#store.get(PREFIX + name);
      if (next === undefined) {
        if (current !== undefined) await this.#store.delete(PREFIX + name);
      } else if (current !== JSON.stringify(next)) {
        await this.#write(name, next);
      }
    }
  }

  /** Known entries whose uuid is not in `present`. */
  async *missing(present: ReadonlyMap<string, KnownEntry>): AsyncGenerator<KnownEntry> {
    for await (const [, value] of this.#store.entries(PREFIX)) {
      for (const [uuid, [type, dn]] of Object.entries(JSON.parse(value) as Chunk)) {
        if (!present.has(uuid)) yield { uuid, dn, type };
      }
    }
  }

  async #read(name: string): Promise<Chunk> {
    const text = await this.#store.get(PREFIX + name);
    return text === undefined ? {} : (JSON.parse(text) as Chunk);
  }

  async #write(name: string, chunk: Chunk): Promise<void> {
    if (Object.keys(chunk).length === 0) await this.#store.delete(PREFIX + name);
    else await this.#store.put(PREFIX + name, JSON.stringify(chunk));
  }
}

function chunkOf(uuid: string): string {
  return uuid.slice(0, 2).toLowerCase();
}
