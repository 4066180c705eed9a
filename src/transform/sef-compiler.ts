import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { ConfigError } from '../errors/sync-error.js';
import { ErrorCodes } from '../errors/codes.js';
import { parseCompilerOutput, type CompileDiagnostic } from './compile-diagnostic.js';
import { findSandboxViolations } from './sandbox-policy.js';
import { readStylesheetSources } from './stylesheet-sources.js';

/** A stylesheet compiled to SEF and checked against the sandbox policy, ready for the workers. */
export interface CompiledStylesheet {
  /** Absolute path of the principal module. */
  readonly path: string;
  /** Content hash of the stylesheet and its imports: the cache key and the workers' cache key. */
  readonly key: string;
  /** The SEF as JSON text (what the workers parse once each). */
  readonly sef: string;
  /** True when the SEF came from the disk cache rather than a compile in this call. */
  readonly cached: boolean;
}

export interface SefCompilerOptions {
  /** Where compiled SEFs are kept; default ~/.cache/pubsync/xslt (or $XDG_CACHE_HOME/pubsync/xslt). */
  readonly cacheDir?: string;
  /** Kill a compile that takes longer than this. Default 60 s. */
  readonly compileTimeoutMs?: number;
}

const require = createRequire(import.meta.url);
const XSLT3 = require.resolve('xslt3/xslt3.js');
const COMPILER_VERSION = `xslt3 ${(require('xslt3/package.json') as { version: string }).version}`;
const MAX_COMPILER_OUTPUT = 1024 * 1024;
// Node 20 only knows the experimental name; later versions renamed it.
const PERMISSION_FLAG = process.allowedNodeEnvironmentFlags.has('--permission') ? '--permission' : '--experimental-permission';

export function defaultCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'pubsync', 'xslt');
}

/**
 * Compiles stylesheets to SEF with the xslt3 CLI in a child process, once per content hash: the
 * SEF is kept on disk under the hash, so a restart (or another daemon sharing the cache) loads it
 * instead of paying the ~0.6 s compile. The child runs under Node's permission model: it may read
 * the compiler and the stylesheet's own folders and write only the cache, so a use-when
 * expression that reads a file is refused at compile time as well.
 */
export class SefCompiler {
  readonly cacheDir: string;
  readonly #timeoutMs: number;
  /** Compiles in flight by key, so that concurrent calls for one stylesheet compile it once. */
  readonly #compiles = new Map<string, Promise<string>>();

  constructor(options: SefCompilerOptions = {}) {
    this.cacheDir = resolve(options.cacheDir ?? defaultCacheDir());
    this.#timeoutMs = options.compileTimeoutMs ?? 60_000;
  }

  /**
   * Compiles (or loads from the cache) the stylesheet at `path`. Throws a ConfigError:
   * PUBSYNC_ERR_TRANSFORM_COMPILE_FAILED with details { stylesheet, xsltCode, line, column } when it
   * does not compile, PUBSYNC_ERR_TRANSFORM_SANDBOX when it uses what the sandbox refuses.
   */
  async compile(path: string): Promise<CompiledStylesheet> {
    let sources;
    try {
      sources = await readStylesheetSources(path, COMPILER_VERSION);
    } catch (error) {
      throw new ConfigError(ErrorCodes.TRANSFORM_COMPILE_FAILED, `cannot read stylesheet ${path}: ${(error as Error).message}`, {
        cause: error,
        details: { stylesheet: path },
      });
    }
    const file = join(this.cacheDir, `${sources.key}.sef.json`);
    let sef = await readFile(file, 'utf8').catch(() => undefined);
    const cached = sef !== undefined;
    if (sef === undefined) {
      let pending = this.#compiles.get(sources.key);
      if (pending === undefined) {
        pending = this.#compileToCache(sources.path, sources.modules, file);
        this.#compiles.set(sources.key, pending);
        // Once on disk (or failed) the entry goes: later calls read the cache file.
        pending.then(
          () => this.#compiles.delete(sources.key),
          () => this.#compiles.delete(sources.key),
        );
      }
      sef = await pending;
    }
    checkSandbox(sources.path, sef);
    return { path: sources.path, key: sources.key, sef, cached };
  }

  async #compileToCache(path: string, modules: readonly string[], file: string): Promise<string> {
    await mkdir(this.cacheDir, { recursive: true });
    const temp = join(this.cacheDir, `.${randomBytes(8).toString('hex')}.tmp.json`);
    // The compiler also reads the export folder (the cache) before writing there.
    const readable = new Set([dirname(dirname(XSLT3)), this.cacheDir, ...modules.map((module) => dirname(module))]);
    const args = [
      PERMISSION_FLAG,
      '--no-warnings',
      ...[...readable].map((dir) => `--allow-fs-read=${join(dir, '*')}`),
      `--allow-fs-write=${join(this.cacheDir, '*')}`,
      XSLT3,
      `-xsl:${path}`,
      `-export:${temp}`,
      '-nogo',
    ];
    try {
      const failure = await run(process.execPath, args, this.#timeoutMs);
      if (failure !== undefined) throw compileError(path, failure);
      // Written under a temporary name and renamed: a reader never sees half a SEF.
      await rename(temp, file);
      return await readFile(file, 'utf8');
    } finally {
      await rm(temp, { force: true });
    }
  }
}

/** Runs the compiler; resolves to its diagnostic on failure, undefined on success. */
function run(command: string, args: readonly string[], timeoutMs: number): Promise<CompileDiagnostic | undefined> {
  return new Promise((done) => {
    execFile(command, args, { timeout: timeoutMs, maxBuffer: MAX_COMPILER_OUTPUT, env: {} }, (error, stdout, stderr) => {
      if (!error) return done(undefined);
      if (error.killed) return done({ xsltCode: 'TIMEOUT', message: `the compiler took longer than ${timeoutMs} ms` });
      done(parseCompilerOutput(`${stderr}\n${stdout}`));
    });
  });
}

function compileError(path: string, diagnostic: CompileDiagnostic): ConfigError {
  const where = diagnostic.line === undefined ? path : `${path}:${diagnostic.line}${diagnostic.column === undefined ? '' : `:${diagnostic.column}`}`;
  return new ConfigError(ErrorCodes.TRANSFORM_COMPILE_FAILED, `${where}: ${diagnostic.xsltCode}: ${diagnostic.message}`, {
    details: { stylesheet: path, ...diagnostic },
  });
}

function checkSandbox(path: string, sef: string): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(sef);
  } catch (error) {
    throw new ConfigError(ErrorCodes.TRANSFORM_COMPILE_FAILED, `${path}: the compiled stylesheet is not valid JSON`, {
      cause: error,
      details: { stylesheet: path },
    });
  }
  const violations = findSandboxViolations(parsed);
  const first = violations[0];
  if (first === undefined) return;
  const where = first.line === undefined ? path : `${path}:${first.line}`;
  throw new ConfigError(
    ErrorCodes.TRANSFORM_SANDBOX,
    `${where}: ${first.construct} is not allowed in a transform (${first.reason})` +
      (violations.length > 1 ? `, and ${violations.length - 1} more` : ''),
    { details: { stylesheet: path, construct: first.construct, line: first.line, module: first.module, violations } },
  );
}
