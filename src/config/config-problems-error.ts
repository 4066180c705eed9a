import { formatProblem, type ConfigProblem } from './config-problem.js';
import { ConfigError, ErrorCodes } from '../errors/index.js';

/**
 * One ConfigError for a list of problems: the message lists every problem, sorted by position,
 * and details.problems holds them, so `pubsync check` prints schema, plugin and stylesheet
 * problems alike.
 */
export function configProblemsError(
  file: string,
  problems: readonly ConfigProblem[],
  code: string = ErrorCodes.CONFIG_INVALID,
  options: { details?: Record<string, unknown>; cause?: unknown } = {},
): ConfigError {
  const sorted = [...problems].sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
  const count = `${sorted.length} problem${sorted.length === 1 ? '' : 's'}`;
  return new ConfigError(code, `${file}: ${count}:\n  ${sorted.map(formatProblem).join('\n  ')}`, {
    details: { ...options.details, file, problems: sorted },
    ...(options.cause === undefined ? {} : { cause: options.cause }),
  });
}
