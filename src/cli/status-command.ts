import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { loadConfig } from '../config/index.js';
import { isSyncError } from '../errors/index.js';
import { openStateStore, type SqliteStateStore } from '../state/index.js';
import { ExitCode } from './exit-codes.js';

export interface StatusReport {
  readonly stateFile: string;
  readonly outbound: { readonly depth: number; readonly lastSeq: string; readonly oldestSeq: string | null; readonly compactedThrough: string };
  readonly checkpoints: readonly { readonly source: string; readonly checkpoint: string; readonly updatedAt: string }[];
  readonly highWater: readonly { readonly subscription: string; readonly origin: string; readonly seq: string; readonly updatedAt: string }[];
  readonly peerAcks: readonly { readonly peer: string; readonly seq: string }[];
  readonly deadLetters: number;
  readonly conflicts: number;
  readonly keyCollisions: number;
  readonly tombstonesPending: number;
  readonly note: string;
}

const LIVE_NOTE = 'live data (peers online, replication lag) needs the running daemon\'s admin endpoint (not available yet)';

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description('print what the state database holds (works while the daemon runs)')
    .requiredOption('-c, --config <file>', 'the config file (for the state database path)')
    .option('--json', 'print JSON instead of a table')
    .action(async (options: { config: string; json?: boolean }) => {
      process.exitCode = await withStateStore(options.config, (store) => {
        const report = readStatus(store);
        process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : formatStatus(report));
        return ExitCode.OK;
      });
    });
}

/**
 * Opens the config's existing state database for a CLI command and closes it after fn. WAL lets it
 * be read while the daemon writes. A missing database is an error rather than created empty.
 */
export async function withStateStore(configFile: string, fn: (store: SqliteStateStore) => number): Promise<number> {
  let path: string;
  try {
    path = (await loadConfig(configFile)).config.state.path;
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    return isSyncError(error) && error.kind === 'config' ? ExitCode.BAD_CONFIG : ExitCode.FAILURE;
  }
  if (!existsSync(path)) {
    process.stderr.write(`${configFile}: state.path: no state database at ${path} (has the daemon run yet?)\n`);
    return ExitCode.FAILURE;
  }
  let store: SqliteStateStore;
  try {
    store = openStateStore(path);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    return ExitCode.FAILURE;
  }
  try {
    return fn(store);
  } finally {
    store.close();
  }
}

export function readStatus(store: SqliteStateStore): StatusReport {
  const checkpoints = store.listCheckpoints();
  const highWater = store.listHighWater();
  const oldest = store.oldestOutboundSeq();
  return {
    stateFile: store.file,
    outbound: {
      depth: store.outboundDepth(),
      lastSeq: String(store.lastOutboundSeq()),
      oldestSeq: oldest === undefined ? null : String(oldest),
      compactedThrough: String(store.compactedThrough()),
    },
    checkpoints: checkpoints.map((row) => ({ source: row.source, checkpoint: row.checkpoint, updatedAt: isoTime(row.updatedAt) })),
    highWater: highWater.map((row) => ({
      subscription: row.subscription,
      origin: row.origin,
      seq: String(row.seq),
      updatedAt: isoTime(row.updatedAt),
    })),
    peerAcks: [...store.peerAcks()].map(([peer, seq]) => ({ peer, seq: String(seq) })),
    deadLetters: store.countDeadLetters(),
    conflicts: store.countConflicts('conflict'),
    keyCollisions: store.countConflicts('collision'),
    tombstonesPending: store.countTombstones(),
    note: LIVE_NOTE,
  };
}

export function formatStatus(report: StatusReport): string {
  const lines = [
    `state database      ${report.stateFile}`,
    `outbound log        ${report.outbound.depth} records, last seq ${report.outbound.lastSeq}, oldest ${report.outbound.oldestSeq ?? '-'}, compacted through ${report.outbound.compactedThrough}`,
    `dead letters        ${report.deadLetters}`,
    `conflicts           ${report.conflicts}`,
    `key collisions      ${report.keyCollisions}`,
    `tombstones pending  ${report.tombstonesPending}`,
    '',
    'source checkpoints',
    ...table(['SOURCE', 'CHECKPOINT', 'UPDATED'], report.checkpoints.map((c) => [c.source, c.checkpoint, c.updatedAt])),
    '',
    'subscription high-water marks',
    ...table(['SUBSCRIPTION', 'ORIGIN', 'SEQ', 'UPDATED'], report.highWater.map((h) => [h.subscription, h.origin, h.seq, h.updatedAt])),
    '',
    'peer acknowledgements',
    ...table(['PEER', 'SEQ'], report.peerAcks.map((p) => [p.peer, p.seq])),
    '',
    `note: ${report.note}`,
  ];
  return `${lines.join('\n')}\n`;
}

/** Left-aligned columns; "(none)" for an empty table. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  if (rows.length === 0) return ['  (none)'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const format = (row: readonly string[]): string =>
    `  ${row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ')}`.trimEnd();
  return [format(header), ...rows.map(format)];
}

function isoTime(ms: bigint | number): string {
  return new Date(Number(ms)).toISOString();
}
