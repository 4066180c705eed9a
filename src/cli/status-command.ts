import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { findDaemon, getJson } from '../admin/admin-client.js';
import type { DaemonStatus } from '../admin/admin-service.js';
import type { LiveStatus } from '../admin/live-status.js';
import { readStoredStatus, type StoredStatus } from '../admin/stored-status.js';
import { loadConfig } from '../config/index.js';
import { isSyncError } from '../errors/index.js';
import { openStateStore, type SqliteStateStore } from '../state/index.js';
import { ExitCode } from './exit-codes.js';

/** What `pubsync status` prints: from the running daemon (with its live part) or from the state database. */
export type StatusReport =
  | (StoredStatus & { readonly from: 'daemon'; readonly admin: string; readonly live: LiveStatus })
  | (StoredStatus & { readonly from: 'state-database'; readonly note: string });

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description("print the running daemon's live status (through its admin endpoint), or the state database's when it is stopped")
    .requiredOption('-c, --config <file>', 'the config file (for the state database path)')
    .option('--json', 'print JSON instead of a table')
    .action(async (options: { config: string; json?: boolean }) => {
      const path = await statePathOf(options.config);
      if (typeof path === 'number') {
        process.exitCode = path;
        return;
      }
      const daemon = await findDaemon(path);
      let report: StatusReport | undefined;
      let note = 'the daemon is not running (or runs with admin.enabled: false): live data (peers, lag, queues) needs it';
      if (daemon.kind === 'running') {
        try {
          const status = await getJson<DaemonStatus>(daemon.address, '/status');
          report = { from: 'daemon', admin: daemon.address.url, ...status };
        } catch (error) {
          note = `the daemon's admin endpoint at ${daemon.address.url} failed (${error instanceof Error ? error.message : String(error)}): live data is missing`;
        }
      } else if (daemon.kind === 'unreachable') {
        note = `the daemon (pid ${daemon.address.pid}) did not answer at ${daemon.address.url} (${daemon.reason}): live data is missing`;
      }
      if (report) {
        process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : formatStatus(report));
        process.exitCode = ExitCode.OK;
        return;
      }
      process.exitCode = await withStateStore(options.config, (store) => {
        const stored: StatusReport = { from: 'state-database', ...readStatus(store), note };
        process.stdout.write(options.json ? `${JSON.stringify(stored, null, 2)}\n` : formatStatus(stored));
        return ExitCode.OK;
      });
    });
}

/** The config's state database path, or the exit code of a config that cannot be read. */
export async function statePathOf(configFile: string): Promise<string | number> {
  try {
    return (await loadConfig(configFile)).config.state.path;
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    return isSyncError(error) && error.kind === 'config' ? ExitCode.BAD_CONFIG : ExitCode.FAILURE;
  }
}

/**
 * Opens the config's existing state database for a CLI command and closes it after fn. WAL lets it
 * be read while the daemon writes. A missing database is an error rather than created empty.
 */
export async function withStateStore(configFile: string, fn: (store: SqliteStateStore) => number): Promise<number> {
  const path = await statePathOf(configFile);
  if (typeof path === 'number') return path;
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

export function readStatus(store: SqliteStateStore): StoredStatus {
  return readStoredStatus(store, store.file);
}

export function formatStatus(report: StatusReport): string {
  const lines = [
    report.from === 'daemon'
      ? `from                the running daemon (pid ${report.live.pid}, admin endpoint ${report.admin})`
      : `from                the state database (${report.note})`,
    `state database      ${report.stateFile}`,
    `outbound log        ${report.outbound.depth} records, last seq ${report.outbound.lastSeq}, oldest ${report.outbound.oldestSeq ?? '-'}, compacted through ${report.outbound.compactedThrough}`,
    `dead letters        ${report.deadLetters}`,
    `conflicts           ${report.conflicts}`,
    `key collisions      ${report.keyCollisions}`,
    `tombstones pending  ${report.tombstonesPending}`,
    ...(report.from === 'daemon' ? formatLive(report.live) : []),
    '',
    'source checkpoints',
    ...table(['SOURCE', 'CHECKPOINT', 'UPDATED'], report.checkpoints.map((c) => [c.source, c.checkpoint, c.updatedAt])),
    '',
    'subscription high-water marks',
    ...table(['SUBSCRIPTION', 'ORIGIN', 'SEQ', 'UPDATED'], report.highWater.map((h) => [h.subscription, h.origin, h.seq, h.updatedAt])),
    '',
    'peer acknowledgements',
    ...table(['PEER', 'SEQ'], report.peerAcks.map((p) => [p.peer, p.seq])),
  ];
  return `${lines.join('\n')}\n`;
}

function formatLive(live: LiveStatus): string[] {
  const { outbound, xmpp } = live;
  const dash = (value: string | number | null): string => (value === null ? '-' : String(value));
  return [
    `readiness           ${live.ready ? 'ready' : 'not ready'}`,
    `xmpp                ${xmpp ? `${xmpp.jid} ${xmpp.connected ? 'connected' : 'disconnected'}, role ${xmpp.role ?? '-'}, ${xmpp.caughtUp ? 'caught up' : 'catching up'}` : '- (no xmpp section)'}`,
    `published           through seq ${dash(outbound.publishedSeq)}, ${dash(outbound.unpublished)} unpublished, ${dash(outbound.publishedSinceStart)} entries since start`,
    '',
    'nodes',
    ...table(['NODE', 'PUBLISHED THROUGH'], live.nodes.map((n) => [n.name, n.publishedSeq])),
    '',
    'subscriptions',
    ...table(
      ['SUBSCRIPTION', 'NODE', 'SINK', 'ORIGIN', 'POSITION', 'ORIGIN HEAD', 'LAG', 'CATCH-UP', 'QUEUE'],
      live.subscriptions.map((s) => [
        s.name,
        s.node,
        s.sink,
        dash(s.origin),
        dash(s.position),
        dash(s.originHead),
        dash(s.lag),
        s.catchingUp ? 'running' : s.caughtUp ? 'done' : 'pending',
        String(s.queueDepth),
      ]),
    ),
    '',
    'peers (control room)',
    ...table(
      ['PEER', 'ROLE', 'ONLINE', 'STATE', 'HEAD', 'HAS OURS THROUGH', 'LAG'],
      live.peers.map((p) => [p.jid, p.role, p.online ? 'yes' : 'no', dash(p.state), dash(p.head), dash(p.receivedOfOurs), dash(p.lag)]),
    ),
  ];
}

/** Left-aligned columns; "(none)" for an empty table. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  if (rows.length === 0) return ['  (none)'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const format = (row: readonly string[]): string =>
    `  ${row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ')}`.trimEnd();
  return [format(header), ...rows.map(format)];
}
