/**
 * One error base for the whole daemon. Callers act on `kind`, never on message text:
 * - config: fatal at start (exit 2);
 * - not-connected: go back to the connect loop;
 * - transient: back off and retry the same call;
 * - record: this one record is bad: dead-letter it and go on.
 */
export type ErrorKind = 'config' | 'not-connected' | 'transient' | 'record';

export interface SyncErrorOptions {
  readonly details?: Readonly<Record<string, unknown>>;
  readonly cause?: unknown;
  /** The plugin instance the error came from, when it crossed a plugin boundary. */
  readonly plugin?: string;
  /** For transient errors: how long the caller should wait before retrying. */
  readonly retryAfterMs?: number;
}

export class SyncError extends Error {
  override readonly name: string = 'SyncError';
  readonly code: string;
  readonly kind: ErrorKind;
  readonly details: Readonly<Record<string, unknown>>;
  readonly plugin: string | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(code: string, kind: ErrorKind, message: string, options: SyncErrorOptions = {}) {
    super(options.plugin ? `[${options.plugin}] ${message}` : message, { cause: options.cause });
    this.code = code;
    this.kind = kind;
    this.details = options.details ?? {};
    this.plugin = options.plugin;
    this.retryAfterMs = options.retryAfterMs;
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      kind: this.kind,
      message: this.message,
      ...(this.plugin ? { plugin: this.plugin } : {}),
      details: this.details,
    };
  }
}

export class ConfigError extends SyncError {
  override readonly name = 'ConfigError';
  constructor(code: string, message: string, options?: SyncErrorOptions) {
    super(code, 'config', message, options);
  }
}

export class NotConnectedError extends SyncError {
  override readonly name = 'NotConnectedError';
  constructor(code: string, message: string, options?: SyncErrorOptions) {
    super(code, 'not-connected', message, options);
  }
}

export class TransientError extends SyncError {
  override readonly name = 'TransientError';
  constructor(code: string, message: string, options?: SyncErrorOptions) {
    super(code, 'transient', message, options);
  }
}

/** A bad record: it goes to the dead-letter store and the flow continues. */
export class RecordError extends SyncError {
  override readonly name = 'RecordError';
  constructor(code: string, message: string, options?: SyncErrorOptions) {
    super(code, 'record', message, options);
  }
}

export function isSyncError(value: unknown): value is SyncError {
  return value instanceof SyncError;
}

/**
 * Wraps anything thrown by a plugin so that it names the plugin and keeps a stable code.
 * A SyncError keeps its kind and code; anything else is treated as transient (the host's
 * failure budget decides when to give up), as Kafka Connect treats unknown exceptions.
 */
export function wrapPluginError(error: unknown, plugin: string, hook: string): SyncError {
  if (error instanceof SyncError) {
    if (error.plugin === plugin) return error;
    return new SyncError(error.code, error.kind, error.message, {
      details: { ...error.details, hook },
      cause: error.cause ?? error,
      plugin,
      ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
    });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new TransientError('PUBSYNC_ERR_PLUGIN_FAILED', `${hook} failed: ${message}`, {
    plugin,
    cause: error,
    details: { hook },
  });
}
