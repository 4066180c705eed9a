import { InvalidArgumentError, type Command } from 'commander';
import { findDaemon, postJson } from '../admin/admin-client.js';
import { notRetryable, requestRetry, type RetryOutcome } from '../admin/dlq-retry.js';
import type { DeadLetter } from '../state/index.js';
import { ExitCode } from './exit-codes.js';
import { statePathOf, table, withStateStore } from './status-command.js';

/** Messages longer than this are cut in `dlq list`; `dlq show` prints them whole. */
const LIST_MESSAGE_CHARS = 80;
const PAGE = 500;

export function registerDlqCommand(program: Command): void {
  const dlq = program.command('dlq').description('inspect, retry and drop dead letters (entries that could not be applied or captured)');
  dlq
    .command('list')
    .description('list every dead letter: id, time, where, code, message, entry id')
    .requiredOption('-c, --config <file>', 'the config file (for the state database path)')
    .action(async (options: { config: string }) => {
      process.exitCode = await withStateStore(options.config, (store) => {
        const rows: string[][] = [];
        // Paged, so a large queue is printed without holding every payload at once.
        for (let afterId = 0; ; ) {
          const page = store.listDeadLetters({ afterId, limit: PAGE });
          for (const letter of page) rows.push(listRow(letter));
          const last = page.at(-1);
          if (!last || page.length < PAGE) break;
          afterId = last.id;
        }
        process.stdout.write(`${table(['ID', 'TIME', 'WHERE', 'CODE', 'MESSAGE', 'ENTRY'], rows).join('\n')}\n`);
        return ExitCode.OK;
      });
    });
  dlq
    .command('show')
    .description('print one dead letter whole, with its payload (binary payloads as base64)')
    .argument('<id>', 'the dead letter id', toId)
    .requiredOption('-c, --config <file>', 'the config file (for the state database path)')
    .action(async (id: number, options: { config: string }) => {
      process.exitCode = await withStateStore(options.config, (store) => {
        const letter = store.getDeadLetter(id);
        if (!letter) return notFound(id);
        process.stdout.write(formatLetter(letter));
        return ExitCode.OK;
      });
    });
  dlq
    .command('retry')
    .description(
      "apply a subscription's dead letter again through its inbound path (transform, merge, sink): the running daemon does it now, a stopped one at its next start",
    )
    .argument('[id]', 'the dead letter id', toId)
    .option('--all', 'every dead letter there is')
    .requiredOption('-c, --config <file>', 'the config file (for the state database path)')
    .action(async (id: number | undefined, options: { config: string; all?: boolean }) => {
      if ((id === undefined) === !options.all) {
        process.stderr.write('dlq retry: give either a dead letter id or --all\n');
        process.exitCode = ExitCode.FAILURE;
        return;
      }
      process.exitCode = await retry(options.config, options.all ? 'all' : (id as number));
    });
  dlq
    .command('drop')
    .description('delete one dead letter for good')
    .argument('<id>', 'the dead letter id', toId)
    .requiredOption('-c, --config <file>', 'the config file (for the state database path)')
    .action(async (id: number, options: { config: string }) => {
      process.exitCode = await withStateStore(options.config, (store) => {
        if (!store.deleteDeadLetter(id)) return notFound(id);
        process.stdout.write(`dead letter ${id} dropped\n`);
        return ExitCode.OK;
      });
    });
}

/** Settled outcomes: the dead letter is gone. */
const SETTLED = new Set<RetryOutcome['status']>(['applied', 'obsolete', 'conflict']);

async function retry(configFile: string, what: number | 'all'): Promise<number> {
  const path = await statePathOf(configFile);
  if (typeof path === 'number') return path;
  const daemon = await findDaemon(path);
  if (daemon.kind === 'running') {
    let outcomes: RetryOutcome[];
    try {
      outcomes = await postJson<RetryOutcome[]>(daemon.address, '/dlq/retry', what === 'all' ? { all: true } : { ids: [what] });
    } catch (error) {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      return ExitCode.FAILURE;
    }
    process.stdout.write(`retried by the running daemon (pid ${daemon.address.pid}):\n`);
    for (const outcome of outcomes) process.stdout.write(`${formatOutcome(outcome)}\n`);
    if (outcomes.length === 0) process.stdout.write('  (no dead letters)\n');
    return outcomes.every((outcome) => SETTLED.has(outcome.status)) ? ExitCode.OK : ExitCode.FAILURE;
  }
  if (daemon.kind === 'unreachable') {
    process.stderr.write(`the daemon (pid ${daemon.address.pid}) did not answer at ${daemon.address.url} (${daemon.reason}): recording the retry for its next start\n`);
  }
  return withStateStore(configFile, (store) => {
    if (what !== 'all') {
      const letter = store.getDeadLetter(what);
      if (!letter) return notFound(what);
      const refusal = notRetryable(letter);
      if (refusal) {
        process.stderr.write(`dead letter ${what} is not retried: ${refusal}\n`);
        return ExitCode.FAILURE;
      }
    }
    requestRetry(store, what);
    const subject = what === 'all' ? `all ${store.countDeadLetters()} dead letters` : `dead letter ${what}`;
    process.stdout.write(`the daemon is not running: retry of ${subject} recorded; the daemon performs it at its next start (and logs the outcome)\n`);
    return ExitCode.OK;
  });
}

function formatOutcome(outcome: RetryOutcome): string {
  const head = `  dead letter ${outcome.id}: ${outcome.status}`;
  switch (outcome.status) {
    case 'failed':
      return `${head}${outcome.newId === undefined ? '' : `, kept as dead letter ${outcome.newId}`} (retries ${outcome.retries ?? '?'}): ${outcome.code ?? ''} ${outcome.message}`;
    case 'unavailable':
      return `${head}, kept (retries ${outcome.retries ?? '?'}): ${outcome.message}`;
    default:
      return `${head}: ${outcome.message}`;
  }
}

function toId(value: string): number {
  const id = Number(value);
  if (!Number.isSafeInteger(id) || id <= 0) throw new InvalidArgumentError(`expected a dead letter id (a positive integer), got "${value}"`);
  return id;
}

function notFound(id: number): number {
  process.stderr.write(`no dead letter with id ${id}\n`);
  return ExitCode.FAILURE;
}

function listRow(letter: DeadLetter): string[] {
  const message = letter.message.replace(/\s+/g, ' ');
  return [
    String(letter.id),
    new Date(letter.createdAt).toISOString(),
    letter.where,
    letter.code,
    message.length > LIST_MESSAGE_CHARS ? `${message.slice(0, LIST_MESSAGE_CHARS - 1)}…` : message,
    letter.entryId ?? '-',
  ];
}

export function formatLetter(letter: DeadLetter): string {
  const text = typeof letter.payload === 'string';
  const payload = text ? letter.payload : Buffer.from(letter.payload).toString('base64');
  return [
    `id:       ${letter.id}`,
    `time:     ${new Date(letter.createdAt).toISOString()}`,
    `where:    ${letter.where}`,
    `code:     ${letter.code}`,
    `message:  ${letter.message}`,
    `entry:    ${letter.entryId ?? '-'}`,
    `retries:  ${letter.retries}`,
    `details:  ${letter.details === undefined ? '-' : JSON.stringify(letter.details)}`,
    `payload (${text ? 'text' : `binary, ${letter.payload.length} bytes, base64`}):`,
    payload,
    '',
  ].join('\n');
}
