import { InvalidArgumentError, type Command } from 'commander';
import type { DeadLetter } from '../state/index.js';
import { ExitCode } from './exit-codes.js';
import { table, withStateStore } from './status-command.js';

/** Messages longer than this are cut in `dlq list`; `dlq show` prints them whole. */
const LIST_MESSAGE_CHARS = 80;
const PAGE = 500;

export function registerDlqCommand(program: Command): void {
  const dlq = program.command('dlq').description('inspect and drop dead letters (entries that could not be applied or captured)');
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
