import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger } from 'pino';

/**
 * Paths whose values never reach a log line. Config objects are logged whole at start, and
 * plugins log their options, so the common secret names are censored wherever they appear.
 */
export const REDACTED_PATHS = [
  'password',
  '*.password',
  '*.*.password',
  '*.*.*.password',
  'secret',
  '*.secret',
  '*.*.secret',
  'token',
  '*.token',
  '*.*.token',
  'credentials',
  '*.credentials',
  '*.headers.authorization',
  '*.headers.Authorization',
  '*.*.headers.authorization',
  'url',
  '*.url',
  '*.*.url',
] as const;

export interface LoggerOptions {
  readonly level?: string;
  readonly name?: string;
  /** Where lines go; stderr by default so stdout stays free for command output. */
  readonly destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      name: options.name ?? 'pubsync',
      level: options.level ?? 'info',
      redact: { paths: [...REDACTED_PATHS], censor: redactValue },
      serializers: { err: pino.stdSerializers.err },
    },
    options.destination ?? pino.destination(2),
  );
}

/** URLs keep their host for debugging; only the user-info part (user:password@) is hidden. */
function redactValue(value: unknown, path: string[]): unknown {
  if (path.at(-1) === 'url' && typeof value === 'string') return redactUrlCredentials(value);
  return '[Redacted]';
}

export function redactUrlCredentials(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/i, '$1[Redacted]@');
}

/** A child logger per component, so that every line says where it came from. */
export function componentLogger(root: Logger, component: string, bindings: Record<string, unknown> = {}): Logger {
  return root.child({ component, ...bindings });
}
