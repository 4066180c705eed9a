import { InvalidArgumentError, type Command } from 'commander';
import { composeFromConfig } from '../app/compose.js';
import type { Daemon, DaemonStartOptions } from '../app/daemon.js';
import { composeDryRun, type DryRun } from '../app/dry-run.js';
import { dryRunHeader, renderOperation } from '../app/dry-run-diff.js';
import { loadConfig } from '../config/index.js';
import { ErrorCodes, isSyncError } from '../errors/index.js';
import { createLogger, type Logger } from '../logging/logger.js';
import { ExitCode } from './exit-codes.js';

interface RunOptions {
  readonly config: string;
  readonly connectTimeout: number;
  readonly shutdownTimeout: number;
  readonly dryRun?: boolean;
}

// A hang-up (the terminal went away) stops as gracefully as SIGTERM, never with the state half written.
const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description('run the daemon until SIGTERM, SIGINT or SIGHUP (logs go to stderr as JSON lines)')
    .requiredOption('-c, --config <file>', 'the config file')
    .option('--connect-timeout <ms>', 'give up (exit 3) when not started and online within this long', toMs, 30_000)
    .option('--shutdown-timeout <ms>', 'force the exit (exit 1) when draining takes longer than this', toMs, 30_000)
    .option('--dry-run', 'print, per sink, what would be applied (a diff per object) without writing, publishing or changing the state database')
    .action(async (options: RunOptions) => {
      // process.exit: a connection attempt that never completed may hold the event loop open.
      process.exit(await run(options));
    });
}

export function toMs(value: string): number {
  const ms = Number(value);
  if (!Number.isInteger(ms) || ms <= 0) throw new InvalidArgumentError(`expected a positive number of milliseconds, got "${value}"`);
  return ms;
}

async function run(options: RunOptions): Promise<number> {
  const dry: { run?: DryRun } = {};
  try {
    return await runDaemon(options, dry);
  } finally {
    await dry.run?.dispose();
  }
}

/** Resolves with the process exit code once the daemon is down (or could not come up). */
async function runDaemon(options: RunOptions, dry: { run?: DryRun }): Promise<number> {
  // A signal during the composition or the start stops what has started, like one after it.
  let signalled: NodeJS.Signals | undefined;
  const stopRequested = new Promise<NodeJS.Signals>((resolve) => {
    for (const signal of SIGNALS) process.once(signal, () => resolve((signalled ??= signal)));
  });
  let logger = createLogger();
  let daemon: Daemon;
  try {
    // Config, plugins and their options are all validated before the state database is opened.
    const loaded = await loadConfig(options.config);
    logger = createLogger({ level: loaded.config.log.level });
    if (options.dryRun) {
      ({ daemon, dryRun: dry.run } = await composeDryRun(loaded, { logger, onOperation: (operation) => printLines(renderOperation(operation)) }));
      printLines(dryRunHeader(dry.run));
    } else {
      daemon = await composeFromConfig(loaded, { logger });
    }
  } catch (error) {
    return failed(logger, error, 'pubsync could not be composed');
  }

  if (signalled) {
    // Nothing started yet: only the state database is open.
    return (await stopWithin(daemon, logger, options.shutdownTimeout, `received ${signalled}`)) ? ExitCode.OK : ExitCode.FAILURE;
  }
  const started = await startWithin(daemon, options.connectTimeout, stopRequested);
  if (started !== 'ready') {
    const code = started === 'signal' ? ExitCode.OK : started.code;
    if (started !== 'signal') logFailure(logger, started.error, started.message);
    return (await stopWithin(daemon, logger, options.shutdownTimeout, 'start abandoned')) ? code : ExitCode.FAILURE;
  }
  logger.info('ready');
  const outcome = await Promise.race([stopRequested.then((signal) => ({ signal })), daemon.failed.then((error) => ({ error }))]);
  if ('error' in outcome) {
    logFailure(logger, outcome.error, 'pubsync failed and stops');
    await stopWithin(daemon, logger, options.shutdownTimeout, 'failure');
    return ExitCode.FAILURE;
  }
  return (await stopWithin(daemon, logger, options.shutdownTimeout, `received ${outcome.signal}`)) ? ExitCode.OK : ExitCode.FAILURE;
}

export type StartResult = 'ready' | 'signal' | { code: number; error: unknown; message: string };

export async function startWithin(daemon: Daemon, timeoutMs: number, stopRequested: Promise<unknown>, startOptions?: DaemonStartOptions): Promise<StartResult> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<StartResult>((resolve) => {
    timer = setTimeout(
      () =>
        resolve({
          code: ExitCode.UNREACHABLE,
          error: undefined,
          // The XMPP connection is the one start step that retries forever; the rest fail on their own.
          message: `not started within ${timeoutMs} ms (--connect-timeout): the XMPP server or a plugin's system is unreachable`,
        }),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([
      daemon.start(startOptions).then((): StartResult => 'ready'),
      deadline,
      stopRequested.then((): StartResult => 'signal'),
    ]);
  } catch (error) {
    return { code: exitCodeOf(error), error, message: 'pubsync could not start' };
  } finally {
    clearTimeout(timer);
  }
}

/** Drains the daemon; false when it was forced (deadline or a second signal). */
export async function stopWithin(daemon: Daemon, logger: Logger, timeoutMs: number, reason: string): Promise<boolean> {
  logger.info({ reason, timeoutMs }, 'stopping: draining in-flight work');
  let timer: NodeJS.Timeout | undefined;
  let onSignal: ((signal: NodeJS.Signals) => void) | undefined;
  const forced = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`draining took longer than ${timeoutMs} ms (--shutdown-timeout)`), timeoutMs);
    onSignal = (signal) => resolve(`received ${signal} again while draining`);
    for (const signal of SIGNALS) process.once(signal, onSignal);
  });
  try {
    const outcome = await Promise.race([daemon.stop().then((report) => ({ report })), forced]);
    if (typeof outcome === 'string') {
      logger.error({ reason: outcome }, 'forced exit: in-flight work may be redone at the next start');
      return false;
    }
    logger.info({ report: outcome.report }, 'stopped');
    return true;
  } catch (error) {
    logger.error({ err: error }, 'stopping failed');
    return false;
  } finally {
    clearTimeout(timer);
    if (onSignal) for (const signal of SIGNALS) process.removeListener(signal, onSignal);
  }
}

export function exitCodeOf(error: unknown): number {
  if (!isSyncError(error)) return ExitCode.FAILURE;
  if (error.code === ErrorCodes.XMPP_REQUEST_FAILED && error.kind === 'config') return ExitCode.AUTH_REFUSED;
  if (error.kind === 'config') return ExitCode.BAD_CONFIG;
  if (error.kind === 'not-connected') return ExitCode.UNREACHABLE;
  return ExitCode.FAILURE;
}

function failed(logger: Logger, error: unknown, message: string): number {
  logFailure(logger, error, message);
  return exitCodeOf(error);
}

export function logFailure(logger: Logger, error: unknown, message: string): void {
  // Config problems are for the operator's eyes: their message lists every problem, line by line.
  if (isSyncError(error) && error.kind === 'config') process.stderr.write(`${error.message}\n`);
  logger.fatal(error === undefined ? {} : { err: error }, message);
}

function printLines(lines: readonly string[]): void {
  process.stdout.write(`${lines.join('\n')}\n`);
}
