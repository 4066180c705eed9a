import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import { ConfigError, ErrorCodes } from '../errors/index.js';
import { configSchema, type Config } from './schema.js';
import { crossCheck } from './cross-check.js';
import { configProblemsError } from './config-problems-error.js';
import {
  formatPath,
  problemsFromZod,
  type ConfigProblem,
  type PathSegment,
} from './config-problem.js';

/** A validated, frozen config together with what is needed to report later problems in it. */
export interface LoadedConfig {
  readonly file: string;
  readonly config: Readonly<Config>;
  /** Line and column of a key path, for problems found after loading (plugin options, stylesheets). */
  locate(path: readonly PathSegment[]): { line: number; column: number } | undefined;
}

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * Reads, substitutes ${ENV} references and validates a config file. Every problem is collected
 * and thrown together in one ConfigError (details.problems), never one at a time.
 */
export async function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError(ErrorCodes.CONFIG_UNREADABLE, `cannot read config file ${file}: ${(error as Error).message}`, {
      cause: error,
      details: { file },
    });
  }
  return parseConfig(text, file, env);
}

export function parseConfig(text: string, file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const locate = locator(doc, lineCounter);
  const problems: ConfigProblem[] = doc.errors.map((error) => {
    const pos = lineCounter.linePos(error.pos[0]);
    return { file, path: '(syntax)', message: error.message.split('\n')[0] ?? error.message, line: pos.line, column: pos.col };
  });
  if (problems.length > 0) throw configProblemsError(file, problems);

  const raw: unknown = doc.toJS() ?? {};
  const substituted = substituteEnv(raw, [], env, (path, name) => {
    problems.push({
      file,
      path: formatPath(path),
      message: `environment variable ${name} is not set`,
      expected: `\${${name}} to be set in the environment`,
      ...locate(path),
    });
  });
  const result = configSchema.safeParse(substituted);
  if (!result.success) problems.push(...problemsFromZod(result.error.issues, substituted, file, [], locate));
  for (const { path, message } of crossCheck(substituted)) {
    problems.push({ file, path: formatPath(path), message, ...locate(path) });
  }
  if (problems.length > 0 || !result.success) throw configProblemsError(file, problems);
  return { file, config: deepFreeze(result.data), locate };
}

function locator(doc: Document, lineCounter: LineCounter) {
  return (path: readonly PathSegment[]): { line: number; column: number } | undefined => {
    // A missing key has no position: point at the nearest parent that exists.
    for (let depth = path.length; depth >= 0; depth--) {
      const node = doc.getIn(path.slice(0, depth), true);
      if (isNode(node) && node.range) {
        const pos = lineCounter.linePos(node.range[0]);
        return { line: pos.line, column: pos.col };
      }
    }
    return undefined;
  };
}

function substituteEnv(
  value: unknown,
  path: PathSegment[],
  env: NodeJS.ProcessEnv,
  missing: (path: PathSegment[], name: string) => void,
): unknown {
  if (typeof value === 'string') {
    return value.replace(ENV_REF, (_match, name: string) => {
      const found = env[name];
      if (found === undefined) {
        missing(path, name);
        return `\${${name}}`;
      }
      return found;
    });
  }
  if (Array.isArray(value)) return value.map((item, i) => substituteEnv(item, [...path, i], env, missing));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, substituteEnv(item, [...path, key], env, missing)]),
    );
  }
  return value;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
}
