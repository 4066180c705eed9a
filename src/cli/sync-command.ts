import type { Command } from 'commander';
import { findDaemon } from '../admin/admin-client.js';
import { composeFromConfig } from '../app/compose.js';
import type { Daemon } from '../app/daemon.js';
import { composeDryRun, type DryRun } from '../app/dry-run.js';
import { dryRunHeader, renderOperation } from '../app/dry-run-diff.js';
import { loadConfig, type LoadedConfig } from '../config/index.js';
import { ErrorCodes, SyncError } from '../errors/index.js';
import { createLogger, type Logger } from '../logging/logger.js';
import type { CatchUpProgress } from '../transport/catch-up.js';
import { bare } from '../transport/pubsub-nodes.js';
import { XmppTransport } from '../transport/xmpp-transport.js';
import { ExitCode } from './exit-codes.js';
import { Progress } from './progress.js';
import { exitCodeOf, logFailure, startWithin, stopWithin, toMs } from './run-command.js';

interface SyncOptions {
  readonly config: string;
  readonly once: boolean;
  readonly dryRun?: boolean;
  readonly timeout: number;
  readonly connectTimeout: number;
  readonly shutdownTimeout: number;
  readonly sourceQuiet: number;
  readonly progress: boolean;
}

// A hang-up (the terminal went away) stops as gracefully as SIGTERM, never with the state half written.
const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

export function registerSyncCommand(program: Command): void {
  program
    .command('sync')
    .description('publish what is pending, catch every subscription up, apply it, and exit (for cron or a laptop; needs only the account)')
    .requiredOption('-c, --config <file>', 'the config file')
    .requiredOption('--once', 'sync once and exit (`pubsync run` keeps syncing)')
    .option('--dry-run', 'print, per sink, what would be applied (a diff per object) without writing, publishing or changing the state database')
    .option('--timeout <ms>', 'give up (exit 1) when the sync is not done within this long', toMs, 600_000)
    .option('--connect-timeout <ms>', 'give up (exit 3) when not started and online within this long', toMs, 30_000)
    .option('--shutdown-timeout <ms>', 'force the exit (exit 1) when stopping takes longer than this', toMs, 30_000)
    .option('--source-quiet <ms>', 'a source that yields nothing for this long has caught up (unless it marks its last batch)', toMs, 2_000)
    .option('--no-progress', 'print no progress bar or progress lines')
    .action(async (options: SyncOptions) => {
      // process.exit: a connection attempt that never completed may hold the event loop open.
      process.exit(await sync(options));
    });
}

/** What the sync did, for its last line. */
interface Tally {
  captured: number;
  sources: Set<string>;
  applied: number;
  skipped: number;
  conflicts: number;
  deadLettered: number;
}

/** Resolves with the exit code: 0 once everything was published, caught up and applied. */
async function sync(options: SyncOptions): Promise<number> {
  const stdout = process.stdout;
  // A pseudo-terminal without a size (e.g. under `script`) reports 0 columns.
  const progress = new Progress({ write: (text) => stdout.write(text), tty: stdout.isTTY === true, columns: stdout.columns || 80 });
  const dry: { run?: DryRun } = {};
  try {
    return await syncOnce(options, progress, dry);
  } finally {
    progress.close();
    await dry.run?.dispose();
  }
}

async function syncOnce(options: SyncOptions, progress: Progress, dry: { run?: DryRun }): Promise<number> {
  const startedAt = Date.now();
  let signalled: NodeJS.Signals | undefined;
  const stopRequested = new Promise<NodeJS.Signals>((resolve) => {
    for (const signal of SIGNALS) process.once(signal, () => resolve((signalled ??= signal)));
  });
  // A catch-up done in one page shows nothing; a longer one ends with its final line.
  const shown = new Set<string>();
  const onCatchUpProgress = (p: CatchUpProgress): void => {
    if (!options.progress) return;
    const key = `${p.node} ${p.peer}`;
    const total = Number(p.head - p.from);
    if (total <= 0 || (p.done && !shown.has(key))) return;
    shown.add(key);
    progress.update(key, `catch-up ${p.node} from ${bare(p.peer)}`, Number(p.at - p.from), total, 'log records');
    if (p.done) {
      shown.delete(key);
      progress.finish(key);
    }
  };
  let logger = createLogger();
  let daemon: Daemon;
  try {
    const loaded = await loadConfig(options.config);
    logger = createLogger({ level: loaded.config.log.level });
    for (const subscription of loaded.config.subscriptions.filter((s) => s.publisher === undefined)) {
      // Catch-up asks the publisher's daemon: without one named, only live notifications arrive.
      process.stderr.write(`pubsync sync: subscription ${subscription.name} names no publisher: it gets only what is published during this sync\n`);
    }
    if (options.dryRun) {
      ({ daemon, dryRun: dry.run } = await composeDryRun(loaded, {
        logger,
        onCatchUpProgress,
        onOperation: (operation) => progress.print(renderOperation(operation).join('\n')),
      }));
      for (const line of dryRunHeader(dry.run)) progress.print(line);
    } else {
      // Two writers of one state database and one XMPP resource would displace each other.
      const running = await findDaemon(loaded.config.state.path);
      if (running.kind !== 'stopped') {
        return incomplete(
          logger,
          `a pubsync daemon (pid ${running.address.pid}) runs with the state database ${loaded.config.state.path}: it keeps this replica in sync already (stop it to sync once, or use --dry-run)`,
        );
      }
      daemon = await composeFromConfig(withoutAdmin(loaded), { logger, onCatchUpProgress });
    }
  } catch (error) {
    return failed(logger, error, 'pubsync could not be composed');
  }

  const tally: Tally = { captured: 0, sources: new Set(), applied: 0, skipped: 0, conflicts: 0, deadLettered: 0 };
  daemon.onCaptured((entries, source) => {
    tally.captured += entries.length;
    tally.sources.add(source);
    const count = [...tally.sources].length;
    if (options.progress) progress.update(`source ${source}`, `capture ${source}`, tally.captured, undefined, count > 1 ? 'entries (all sources)' : 'entries');
  });
  daemon.onApplied((_subscription, report) => {
    tally.applied += report.applied;
    tally.skipped += report.skipped;
    tally.conflicts += report.conflicts;
    tally.deadLettered += report.deadLettered;
  });

  if (signalled) {
    await stopWithin(daemon, logger, options.shutdownTimeout, `received ${signalled}`);
    return incomplete(logger, `interrupted by ${signalled} before the sync started`);
  }
  const started = await startWithin(daemon, options.connectTimeout, stopRequested, { once: { sourceQuietMs: options.sourceQuiet } });
  if (started !== 'ready') {
    const stopped = await stopWithin(daemon, logger, options.shutdownTimeout, 'start abandoned');
    if (started === 'signal') return incomplete(logger, `interrupted by ${signalled ?? 'a signal'} while starting`);
    logFailure(logger, started.error, started.message);
    process.stderr.write(`pubsync sync: ${started.message}${started.error instanceof Error ? `: ${started.error.message}` : ''}\n`);
    return stopped ? started.code : ExitCode.FAILURE;
  }
  const outcome = await settleWithin(daemon, options.timeout, stopRequested);
  for (const source of tally.sources) progress.finish(`source ${source}`);
  progress.close();
  const published = daemon.transport instanceof XmppTransport ? daemon.transport.publisher.published : 0;
  const stopped = await stopWithin(daemon, logger, options.shutdownTimeout, outcome === 'done' ? 'sync done' : 'sync abandoned');
  if (outcome !== 'done') {
    logger.fatal({ err: outcome }, 'sync incomplete');
    process.stderr.write(`pubsync sync: incomplete: ${outcome.message}\n`);
    return exitCodeOf(outcome);
  }
  const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
  const verb = options.dryRun ? 'would apply' : 'applied';
  const parts = [
    ...(options.dryRun ? [] : [`captured ${tally.captured} entries`, `published ${published} entries`]),
    `${verb} ${tally.applied}`,
    `skipped ${tally.skipped}`,
    `conflicts ${tally.conflicts}`,
    `dead-lettered ${tally.deadLettered}`,
  ];
  process.stdout.write(`${options.dryRun ? 'dry run' : 'sync'} done in ${seconds}s: ${parts.join(', ')}\n`);
  return stopped ? ExitCode.OK : ExitCode.FAILURE;
}

/**
 * A sync runs beside a possibly running daemon of the same config: it must not take over the
 * admin endpoint (nor its address file), which keeps describing that daemon.
 */
function withoutAdmin(loaded: LoadedConfig): LoadedConfig {
  return { ...loaded, config: { ...loaded.config, admin: { ...loaded.config.admin, enabled: false } } };
}

async function settleWithin(daemon: Daemon, timeoutMs: number, stopRequested: Promise<NodeJS.Signals>): Promise<'done' | Error> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<Error>((resolve) => {
    timer = setTimeout(
      () => resolve(new SyncError(ErrorCodes.SYNC_INCOMPLETE, 'transient', `not done within ${timeoutMs} ms (--timeout): what was applied stays, the next sync goes on from there`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([
      daemon.settle().then((): 'done' => 'done'),
      deadline,
      stopRequested.then((signal) => new SyncError(ErrorCodes.SYNC_INCOMPLETE, 'transient', `interrupted by ${signal}`)),
    ]);
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  } finally {
    clearTimeout(timer);
  }
}

function incomplete(logger: Logger, message: string): number {
  logger.fatal(message);
  process.stderr.write(`pubsync sync: ${message}\n`);
  return ExitCode.FAILURE;
}

function failed(logger: Logger, error: unknown, message: string): number {
  logFailure(logger, error, message);
  if (!(error instanceof SyncError && error.kind === 'config')) {
    process.stderr.write(`pubsync sync: ${message}: ${error instanceof Error ? error.message : String(error)}\n`);
  }
  return exitCodeOf(error);
}
