import type { z } from 'zod';

/** One thing wrong with a config file, located precisely enough to fix without guessing. */
export interface ConfigProblem {
  readonly file: string;
  /** Key path in dotted form with indexes: `subscriptions[1].sink`. */
  readonly path: string;
  readonly message: string;
  readonly found?: string;
  readonly expected?: string;
  readonly line?: number;
  readonly column?: number;
}

export type PathSegment = string | number;

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? String(segment) : `.${String(segment)}`;
  }
  return out || '(top level)';
}

export function formatProblem(problem: ConfigProblem): string {
  const where = problem.line === undefined ? problem.file : `${problem.file}:${problem.line}:${problem.column ?? 1}`;
  const parts = [`${where}: ${problem.path}: ${problem.message}`];
  if (problem.expected !== undefined) parts.push(`expected ${problem.expected}`);
  if (problem.found !== undefined) parts.push(`found ${problem.found}`);
  return parts.join('; ');
}

/** A short, safe rendering of a found value: secrets are never echoed back. */
export function describeFound(value: unknown, path: readonly PropertyKey[]): string {
  const key = String(path.at(-1) ?? '');
  if (/password|secret|token|credential/i.test(key)) return '(hidden)';
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (typeof value === 'object') return 'a mapping';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let current: unknown = root;
  for (const segment of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[segment];
  }
  return current;
}

const SHORT_MESSAGES: Partial<Record<string, string>> = {
  invalid_type: 'wrong type',
  invalid_value: 'not an allowed value',
  too_small: 'too small',
  too_big: 'too big',
};

function expectedOf(issue: z.core.$ZodIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      return String(issue.expected);
    case 'invalid_value':
      return `one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'too_small':
      return `${issue.origin} of at least ${String(issue.minimum)}`;
    case 'too_big':
      return `${issue.origin} of at most ${String(issue.maximum)}`;
    case 'invalid_format':
      return issue.format === 'regex' ? undefined : issue.format;
    default:
      return undefined;
  }
}

/**
 * Turns zod issues into problems. `input` is what was validated (to say what was found),
 * `prefix` places a nested schema (a plugin's options) inside the file's key paths.
 */
export function problemsFromZod(
  issues: readonly z.core.$ZodIssue[],
  input: unknown,
  file: string,
  prefix: readonly PathSegment[] = [],
  locate: (path: readonly PathSegment[]) => { line: number; column: number } | undefined = () => undefined,
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const path = [...prefix, ...(issue.path as PathSegment[]), key];
        problems.push({ file, path: formatPath(path), message: 'unknown key', ...locate(path) });
      }
      continue;
    }
    const local = issue.path as PathSegment[];
    const path = [...prefix, ...local];
    const value = valueAt(input, local);
    const expected = expectedOf(issue);
    // zod's own text repeats the expectation; with `expected` shown separately a short message reads better.
    const message =
      issue.code === 'invalid_type' && value === undefined
        ? 'missing'
        : expected === undefined
          ? issue.message
          : (SHORT_MESSAGES[issue.code] ?? issue.message);
    const found = issue.code === 'custom' ? undefined : describeFound(value, path);
    problems.push({
      file,
      path: formatPath(path),
      message,
      ...(expected === undefined ? {} : { expected }),
      ...(found === undefined ? {} : { found }),
      ...locate(path),
    });
  }
  return problems;
}
