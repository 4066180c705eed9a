import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { z } from 'zod';
import type { LoadedConfig } from '../config/index.js';
import { parseEntry } from '../format/index.js';
import type { Entry } from '../format/model.js';
import { definePlugin, type ApplyOutcome, type SinkOperation } from '../plugin-api/index.js';
import { builtinPlugins, type AnyPluginDefinition } from '../plugin-host/index.js';
import { openStateStore } from '../state/index.js';
import type { AppliedObject, StateStore } from '../state/state-store.js';
import { PUBLISHER_SCOPE } from '../transport/publisher.js';
import { composeFromConfig, type ComposeOptions } from './compose.js';
import type { Daemon } from './daemon.js';

/** Records of our outbound log read per page, and at most per sink call, to find old values. */
const SNAPSHOT_PAGE = 1000;
const SNAPSHOT_SCAN_MAX = 200_000;

/** The plugin every configured sink is replaced with in a dry run. */
export const DRY_RUN_SINK_PLUGIN = 'pubsync-dry-run';

/** One operation a sink would have been given, with what the state database knew before it. */
export interface DryRunOperation {
  readonly sink: string;
  readonly entry: Entry;
  /** The fields the merge decided to write (empty for a tombstone). */
  readonly fields: readonly string[];
  /** What this sink had applied of the object before (per-field CSNs, local key); undefined when new. */
  readonly before: AppliedObject | undefined;
  /**
   * The object as this replica's own sources last captured it (its newest record in our outbound
   * log), when it has one: the old values, for an object of the sink's application.
   */
  readonly local?: Entry;
}

export interface DryRun {
  /** The config to compose the daemon from: state copy, recording sinks, no sources, no nodes. */
  readonly loaded: LoadedConfig;
  /** The built-in plugins plus the recording sink. */
  readonly builtins: readonly AnyPluginDefinition[];
  /** Entries in the outbound log not yet published (what `sync` would publish). */
  readonly pendingOutbound: bigint;
  /** Removes the copy of the state database. */
  dispose(): Promise<void>;
}

/**
 * `--dry-run` for run and sync. The daemon runs unchanged (catch-up, transform, merge.ts, high-water
 * marks across batches) against a copy of the state database in a private temp dir, so what it
 * shows is what a real run would decide; the real database is only read (SQLite's online backup
 * while a daemon holds it, a plain file copy when it is closed) and the copy is deleted afterwards.
 * Nothing leaves the process: every sink is replaced by one that records what it is given, there
 * are no sources (nothing is captured), no nodes (nothing is published or ensured, no catch-up is
 * served), no control room, and the XMPP resource differs so a running daemon is not displaced.
 */
export async function prepareDryRun(loaded: LoadedConfig, onOperation: (operation: DryRunOperation) => void): Promise<DryRun> {
  const { config } = loaded;
  // mkdtemp makes the directory 0700: the copy holds what the state database holds.
  const dir = await mkdtemp(join(tmpdir(), 'pubsync-dry-run-'));
  const copy = join(dir, 'state.db');
  let reader: StateStore | undefined;
  try {
    await copyStateDatabase(config.state.path, copy);
    // A second handle on the copy, to read what each sink had applied before an operation.
    reader = openStateStore(copy);
    const store = reader;
    const pendingOutbound = store.lastOutboundSeq() - BigInt(store.kvGet(PUBLISHER_SCOPE, 'cursor') ?? '0');
    const recordingSink = definePlugin({
      kind: 'sink',
      name: DRY_RUN_SINK_PLUGIN,
      summary: 'records what a sink would be given (pubsync --dry-run)',
      configSchema: z.object({}).strict(),
      create: (_options, context) => ({
        apply(operations: readonly SinkOperation[]): Promise<readonly ApplyOutcome[]> {
          const local = capturedStates(store, operations.map((operation) => operation.entry.id));
          return Promise.resolve(
            operations.map((operation): ApplyOutcome => {
              const { entry, fields } = operation;
              const captured = local.get(entry.id);
              onOperation({ sink: context.name, entry, fields, before: store.getApplied(context.name, entry.id), ...(captured ? { local: captured } : {}) });
              return { status: 'applied', localKey: operation.localKey ?? `dry-run:${entry.id}` };
            }),
          );
        },
      }),
    });
    const { xmpp } = config;
    const dryConfig = {
      ...config,
      state: { ...config.state, path: copy },
      admin: { ...config.admin, enabled: false },
      sources: [],
      sinks: config.sinks.map((sink) => ({ name: sink.name, plugin: DRY_RUN_SINK_PLUGIN, options: {} })),
      nodes: [],
      ...(xmpp ? { xmpp: { ...xmpp, resource: `${xmpp.resource}-dry-run`, room: undefined } } : {}),
    };
    return {
      loaded: { ...loaded, config: dryConfig },
      builtins: [...builtinPlugins, recordingSink],
      pendingOutbound: pendingOutbound > 0n ? pendingOutbound : 0n,
      async dispose() {
        store.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    reader?.close();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/** Composes a daemon for a dry run; dispose() the DryRun after the daemon stopped. */
export async function composeDryRun(
  loaded: LoadedConfig,
  options: Omit<ComposeOptions, 'builtins'> & { readonly onOperation: (operation: DryRunOperation) => void },
): Promise<{ daemon: Daemon; dryRun: DryRun }> {
  const dryRun = await prepareDryRun(loaded, options.onOperation);
  try {
    return { daemon: await composeFromConfig(dryRun.loaded, { ...options, builtins: dryRun.builtins }), dryRun };
  } catch (error) {
    await dryRun.dispose();
    throw error;
  }
}

/**
 * The newest record of each of these objects in our outbound log, parsed. One pass over the log's
 * snapshot per sink call, bounded: past SNAPSHOT_SCAN_MAX records the rest go without old values.
 */
function capturedStates(store: StateStore, ids: readonly string[]): Map<string, Entry> {
  const wanted = new Set(ids);
  const found = new Map<string, Entry>();
  let after = 0n;
  for (let scanned = 0; found.size < wanted.size && scanned < SNAPSHOT_SCAN_MAX; ) {
    const page = store.readSnapshot(after, SNAPSHOT_PAGE);
    const last = page.at(-1);
    if (!last) break;
    for (const record of page) {
      if (!wanted.has(record.entryId)) continue;
      try {
        found.set(record.entryId, parseEntry(record.payload));
      } catch {
        // A record this version cannot read: shown without old values.
      }
    }
    after = last.seq;
    scanned += page.length;
  }
  return found;
}

/**
 * Copies the state database without writing to it. With a WAL file beside it (a daemon has it
 * open, or crashed) the online backup API reads a consistent snapshot through a read-only
 * connection; without one the file is complete on its own, and is copied as it is (a read-only
 * SQLite connection would leave -wal and -shm files behind). No database yet: the copy starts empty.
 */
async function copyStateDatabase(path: string, copy: string): Promise<void> {
  if (!existsSync(path)) return;
  if (!existsSync(`${path}-wal`)) {
    await copyFile(path, copy);
    return;
  }
  const source = new Database(path, { readonly: true, fileMustExist: true });
  try {
    await source.backup(copy);
  } finally {
    source.close();
  }
}
