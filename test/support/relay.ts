import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEntry, serializeEntry } from '../../src/format/index.js';
import { Applier } from '../../src/pipeline/applier.js';
import { Backoff } from '../../src/pipeline/backoff.js';
import { runSource } from '../../src/pipeline/source-runner.js';
import type { SinkDefinition, SourceDefinition } from '../../src/plugin-api/index.js';
import { openStateStore, type SqliteStateStore } from '../../src/state/index.js';
import { createTestContext, instantiate, MemoryPluginState } from '../../src/testing/index.js';
import { capturePipeline, silentLogger } from './pipeline-fixture.js';

export interface RelayEnds {
  readonly source: { readonly definition: SourceDefinition<unknown>; readonly options: Record<string, unknown> };
  readonly sink: { readonly definition: SinkDefinition<unknown>; readonly options: Record<string, unknown> };
}

/**
 * Two daemons in one process with the real core between them: daemon A runs an adapter's source
 * through capture into its outbound log (SQLite); daemon B reads that log through the wire format
 * and applies it with an adapter's sink through the applier (merge, outcomes, dead letters). Only
 * XMPP is left out. `stopSource()` + `startSource()` is a restart of daemon A over the same state.
 */
export class Relay {
  readonly a = capturePipeline({ jid: 'a@localhost', replica: 1 });
  readonly bStore: SqliteStateStore;
  readonly #bDir = mkdtempSync(join(tmpdir(), 'pubsync-relay-b-'));
  readonly #aState = new MemoryPluginState();
  readonly #bState = new MemoryPluginState();
  #applied = 0n;
  #source: { controller: AbortController; running: Promise<void> } | undefined;
  #applier: Applier | undefined;

  constructor(readonly ends: RelayEnds) {
    this.bStore = openStateStore(join(this.#bDir, 'state.db'));
  }

  async startSource(): Promise<void> {
    const controller = new AbortController();
    const context = createTestContext({ kind: 'source', name: 'origin', state: this.#aState, signal: controller.signal });
    const source = await instantiate(this.ends.source.definition, this.ends.source.options, context);
    const running = runSource({
      name: 'origin',
      source,
      capture: this.a.capture,
      store: this.a.store,
      logger: silentLogger,
      signal: controller.signal,
      backoff: new Backoff({ initialMs: 50, maxMs: 500 }),
    });
    this.#source = { controller, running };
  }

  async stopSource(): Promise<void> {
    this.#source?.controller.abort();
    await this.#source?.running;
    this.#source = undefined;
  }

  /** Waits until daemon A's source is live: it committed its first checkpoint. */
  async live(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.a.store.getCheckpoint('origin') === undefined) {
      if (Date.now() > deadline) throw new Error('the source did not commit a checkpoint');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** Applies what A logged since the last call to B; returns how many entries went. */
  async pump(): Promise<number> {
    this.#applier ??= new Applier({
      subscription: 'a-to-b',
      sinkName: 'replica',
      sink: await instantiate(
        this.ends.sink.definition,
        this.ends.sink.options,
        createTestContext({ kind: 'sink', name: 'replica', state: this.#bState }),
      ),
      store: this.bStore,
      serialize: serializeEntry,
      logger: silentLogger,
    });
    const records = this.a.store.readOutbound(this.#applied, 1000);
    if (records.length === 0) return 0;
    // Through the wire format, as a subscriber receives them.
    const entries = records.map((record) => parseEntry(serializeEntry(parseEntry(record.payload))));
    await this.#applier.apply(entries, new AbortController().signal);
    this.#applied = records.at(-1)?.seq ?? this.#applied;
    return records.length;
  }

  /** Pumps until `check` holds, or fails after the deadline naming what it waited for. */
  async until(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await this.pump();
      if (await check()) return;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  async close(): Promise<void> {
    await this.stopSource();
    this.a.close();
    this.bStore.close();
    rmSync(this.#bDir, { recursive: true, force: true });
  }
}
