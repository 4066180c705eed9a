import { ErrorCodes } from '../errors/codes.js';
import { isSyncError, RecordError } from '../errors/sync-error.js';
import { parseFeed, serializeFeed, type ParseLimits } from '../format/index.js';
import type { Entry } from '../format/model.js';
import type { Transform } from '../plugin-api/roles.js';
import { isIdentityStylesheet } from './identity-stylesheet.js';
import { SefCompiler, type CompiledStylesheet } from './sef-compiler.js';
import { XsltWorkerPool, type XsltParams, type XsltRunError } from './xslt-worker-pool.js';

export interface XsltTransformOptions {
  /** Path of the XSLT 3.0 stylesheet (relative paths resolve against the working directory). */
  readonly stylesheet: string;
  /** xsl:param values (no-namespace names). */
  readonly params?: XsltParams;
  /** Per-batch time limit. Default 5,000 ms. Ignored when `pool` is given (the pool's own applies). */
  readonly timeoutMs?: number;
  /** Heap limit of the worker. Default 256 MB. Ignored when `pool` is given. */
  readonly maxMemoryMb?: number;
  /** SEF cache folder; default ~/.cache/pubsync/xslt. Ignored when `compiler` is given. */
  readonly cacheDir?: string;
  /** A pool shared between transforms; the transform then does not close it. */
  readonly pool?: XsltWorkerPool;
  /** A compiler shared between transforms. */
  readonly compiler?: SefCompiler;
  /** Limits for parsing the stylesheet's output (as for any incoming feed). */
  readonly parseLimits?: Partial<ParseLimits>;
}

/** A Transform backed by an XSLT stylesheet. */
export interface XsltTransform extends Transform {
  /** Compiles the stylesheet (or loads it from the cache). Throws the ConfigError of a bad stylesheet. Idempotent. */
  start(): Promise<void>;
  apply(entries: readonly Entry[], signal: AbortSignal): Promise<readonly Entry[]>;
  /** Stops its own worker pool (not a shared one). Idempotent. */
  close(): Promise<void>;
}

/**
 * A transform that runs a stylesheet over each batch as one Atom feed (serializeFeed): one call
 * per batch, not per entry. The stylesheet returns an atom:feed with zero, one or more entries per
 * input entry; that output is parsed and checked by parseFeed like any feed from a peer. Any
 * failure of a batch is a RecordError PUBSYNC_ERR_TRANSFORM_FAILED with details
 * { xsltCode, line, column, stylesheet } (the applier then retries entry by entry and dead-letters
 * the ones that fail alone).
 */
export function createXsltTransform(options: XsltTransformOptions): XsltTransform {
  const compiler = options.compiler ?? new SefCompiler(options.cacheDir === undefined ? {} : { cacheDir: options.cacheDir });
  const ownPool = options.pool === undefined;
  const pool =
    options.pool ??
    new XsltWorkerPool({
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      ...(options.maxMemoryMb === undefined ? {} : { maxMemoryMb: options.maxMemoryMb }),
    });
  const params = options.params ?? {};
  let compiled: Promise<CompiledStylesheet> | undefined;
  // The identity stylesheet hands each batch on as it is (see identity-stylesheet.ts).
  let identity: Promise<boolean> | undefined;

  const start = (): Promise<CompiledStylesheet> => {
    if (compiled === undefined) {
      const attempt = compiler.compile(options.stylesheet);
      // A failed compile is not remembered: the next call tries again (the file may have been fixed).
      attempt.catch(() => {
        if (compiled === attempt) compiled = undefined;
      });
      compiled = attempt;
      identity = attempt.then((stylesheet) => isIdentityStylesheet(stylesheet.path), () => false);
    }
    return compiled;
  };

  return {
    async start() {
      await start();
    },

    async apply(entries, signal) {
      if (entries.length === 0) return [];
      const stylesheet = await start();
      if (await identity) return entries;
      const first = entries[0] as Entry;
      const source = serializeFeed({ origin: first.origin, firstSeq: 1n, lastSeq: BigInt(entries.length), entries });
      const result = await pool.run(stylesheet, source, params, signal);
      if (!result.ok) throw transformFailed(stylesheet.path, result.error, entries, result.messages);
      if (result.output.trim() === '') return [];
      try {
        return parseFeed(result.output, options.parseLimits).entries;
      } catch (error) {
        throw outputInvalid(stylesheet.path, error, entries);
      }
    },

    async close() {
      if (ownPool) await pool.close();
    },
  };
}

function transformFailed(stylesheet: string, error: XsltRunError, entries: readonly Entry[], messages: readonly string[]): RecordError {
  const where = error.line === undefined ? stylesheet : `${stylesheet}:${error.line}`;
  return new RecordError(ErrorCodes.TRANSFORM_FAILED, `transform ${where} failed: ${error.code}: ${error.message}`, {
    details: {
      xsltCode: error.code,
      line: error.line,
      column: undefined,
      stylesheet,
      ...(error.module === undefined ? {} : { module: error.module }),
      ...entryIds(entries),
      ...(messages.length === 0 ? {} : { messages }),
    },
  });
}

function outputInvalid(stylesheet: string, error: unknown, entries: readonly Entry[]): RecordError {
  const code = isSyncError(error) ? error.code : 'UNKNOWN';
  const message = error instanceof Error ? error.message : String(error);
  const details = isSyncError(error) ? error.details : {};
  return new RecordError(ErrorCodes.TRANSFORM_FAILED, `transform ${stylesheet} produced an invalid feed: ${message}`, {
    cause: error,
    details: {
      xsltCode: undefined,
      line: details.line,
      column: details.column,
      stylesheet,
      outputError: code,
      ...entryIds(entries),
    },
  });
}

function entryIds(entries: readonly Entry[]): { entryId: string } | { entryIds: string[] } {
  if (entries.length === 1) return { entryId: (entries[0] as Entry).id };
  return { entryIds: entries.slice(0, 20).map((entry) => entry.id) };
}
