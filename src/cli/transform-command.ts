import { watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { isSyncError } from '../errors/index.js';
import { parseEntry, parseFeed, serializeEntry, serializeFeed } from '../format/index.js';
import type { Batch, Entry } from '../format/model.js';
import { createXsltTransform, SefCompiler, XsltWorkerPool } from '../transform/index.js';
import { ExitCode } from './exit-codes.js';

interface TransformCommandOptions {
  readonly xsl: string;
  readonly param: readonly string[];
  readonly timeout: string;
  readonly cacheDir?: string;
  readonly watch?: boolean;
}

/**
 * `pubsync transform --xsl FILE [--param name=value ...] INPUT`: runs a stylesheet over a feed or
 * an entry, as a subscription would, and prints the resulting feed. For transform authors: a
 * failure prints the XSLT code with its line and column and the entry it failed on; --watch runs
 * again whenever the stylesheet or the input is saved.
 */
export function registerTransformCommand(program: Command): void {
  program
    .command('transform')
    .description('run an XSLT stylesheet over an Atom feed or entry and print the result')
    .requiredOption('--xsl <file>', 'the XSLT 3.0 stylesheet')
    .option('--param <name=value>', 'an xsl:param value (repeatable)', (value: string, all: string[]) => [...all, value], [])
    .option('--timeout <ms>', 'time limit of the transform', '5000')
    .option('--cache-dir <dir>', 'where compiled stylesheets are kept (default ~/.cache/pubsync/xslt)')
    .option('-w, --watch', 'run again whenever the stylesheet or the input changes')
    .argument('<input>', 'a file holding an atom:feed, an atom:entry or an at:deleted-entry')
    .action(async (input: string, options: TransformCommandOptions) => {
      process.exitCode = await transformCommand(input, options);
    });
}

async function transformCommand(input: string, options: TransformCommandOptions): Promise<number> {
  const params = parseParams(options.param);
  if (typeof params === 'string') {
    process.stderr.write(`${params}\n`);
    return ExitCode.BAD_CONFIG;
  }
  const timeoutMs = Number(options.timeout);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
    process.stderr.write(`--timeout: expected a positive number of milliseconds, found ${JSON.stringify(options.timeout)}\n`);
    return ExitCode.BAD_CONFIG;
  }
  const compiler = new SefCompiler(options.cacheDir === undefined ? {} : { cacheDir: options.cacheDir });
  const pool = new XsltWorkerPool({ timeoutMs });
  const once = () => runOnce(input, options.xsl, params, compiler, pool);
  try {
    const code = await once();
    if (!options.watch) return code;
    await watchAndRerun([options.xsl, input], once);
    return ExitCode.OK;
  } finally {
    await pool.close();
  }
}

async function runOnce(
  input: string,
  stylesheet: string,
  params: Record<string, string>,
  compiler: SefCompiler,
  pool: XsltWorkerPool,
): Promise<number> {
  let batch: Batch;
  try {
    batch = await readInput(input);
  } catch (error) {
    process.stderr.write(`${input}: ${describe(error)}\n`);
    return ExitCode.FAILURE;
  }
  const transform = createXsltTransform({ stylesheet, params, compiler, pool });
  try {
    await transform.start();
  } catch (error) {
    process.stderr.write(`${describe(error)}\n`);
    return ExitCode.BAD_CONFIG;
  }
  const signal = new AbortController().signal;
  try {
    const entries = await transform.apply(batch.entries, signal);
    process.stdout.write(`${serializeFeed({ ...batch, entries })}\n`);
    return ExitCode.OK;
  } catch (error) {
    if (!isSyncError(error) || error.kind !== 'record') throw error;
  }
  // The batch failed: find the entries that fail alone, as the daemon does before dead-lettering.
  for (const entry of batch.entries) {
    try {
      await transform.apply([entry], signal);
    } catch (error) {
      if (!isSyncError(error) || error.kind !== 'record') throw error;
      process.stderr.write(`${error.message}\nfailing entry:\n${serializeEntry(entry)}\n`);
      return ExitCode.FAILURE;
    }
  }
  process.stderr.write('the batch failed as a whole but every entry passes alone\n');
  return ExitCode.FAILURE;
}

async function readInput(input: string): Promise<Batch> {
  const xml = await readFile(input, 'utf8');
  if (/<(?:[\w.-]+:)?feed[\s>]/.test(xml.slice(0, 2048))) return parseFeed(xml);
  const entry: Entry = parseEntry(xml);
  return { origin: entry.origin, firstSeq: 1n, lastSeq: 1n, entries: [entry] };
}

function parseParams(specs: readonly string[]): Record<string, string> | string {
  const params: Record<string, string> = {};
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    if (eq <= 0) return `--param ${JSON.stringify(spec)}: expected name=value`;
    params[spec.slice(0, eq)] = spec.slice(eq + 1);
  }
  return params;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Runs `again` after every change to one of `files` (debounced), until SIGINT. */
function watchAndRerun(files: readonly string[], again: () => Promise<number>): Promise<void> {
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    let running = Promise.resolve();
    const watchers = files.map((file) =>
      watch(file, () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          running = running.then(async () => {
            process.stderr.write(`--- ${new Date().toISOString()} ${file} changed\n`);
            await again();
          });
        }, 100);
      }),
    );
    process.stderr.write(`watching ${files.join(', ')} (Ctrl-C to stop)\n`);
    process.once('SIGINT', () => {
      clearTimeout(timer);
      for (const watcher of watchers) watcher.close();
      void running.then(resolve);
    });
  });
}
