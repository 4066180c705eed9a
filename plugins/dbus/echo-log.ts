import type { PluginStore } from '../../src/plugin-api/index.js';

/** How many writes per object are remembered: enough for a burst the source coalesces into one fetch. */
const KEEP = 8;

/**
 * The sink's recent writes per object (content hashes, or a delete marker), in the store scope
 * the sink and the source of one app share. The source consumes a write when it sees it signalled
 * back, so it is not published again; older writes of the same object go with it, as the app has
 * moved past them.
 */
export class EchoLog {
  readonly #store: PluginStore;

  constructor(store: PluginStore) {
    this.#store = store;
  }

  /** Recorded before the write, so the app's signal can never arrive before the record. */
  async record(id: string, token: string): Promise<void> {
    const tokens = (await this.#tokens(id)).filter((known) => known !== token);
    tokens.push(token);
    await this.#store.put(id, tokens.slice(-KEEP).join(' '));
  }

  /** Undoes record() after a failed write. */
  async forget(id: string, token: string): Promise<void> {
    await this.#save(
      id,
      (await this.#tokens(id)).filter((known) => known !== token),
    );
  }

  /** True when `token` is a write of the sink's: it and the older ones are then consumed. */
  async consume(id: string, token: string): Promise<boolean> {
    const tokens = await this.#tokens(id);
    const index = tokens.indexOf(token);
    if (index < 0) return false;
    await this.#save(id, tokens.slice(index + 1));
    return true;
  }

  async #tokens(id: string): Promise<string[]> {
    const value = await this.#store.get(id);
    return value === undefined || value === '' ? [] : value.split(' ');
  }

  async #save(id: string, tokens: readonly string[]): Promise<void> {
    if (tokens.length === 0) await this.#store.delete(id);
    else await this.#store.put(id, tokens.join(' '));
  }
}
