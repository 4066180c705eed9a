import Nano from 'nano';
import { ConfigError, ErrorCodes, NotConnectedError, TransientError } from 'pubsync/plugin-api';
import { withoutCredentials } from './config.js';

/** A CouchDB document as JSON, with the underscore properties CouchDB adds. */
export interface CouchDoc {
  readonly _id: string;
  readonly _rev?: string;
  readonly _deleted?: boolean;
  readonly _conflicts?: readonly string[];
  readonly _attachments?: Readonly<Record<string, AttachmentStub>>;
  readonly [property: string]: unknown;
}

export interface AttachmentStub {
  readonly content_type: string;
  readonly length?: number;
  /** "md5-<base64>" */
  readonly digest?: string;
  readonly stub?: boolean;
  /** Base64, when fetched with attachments=true. */
  readonly data?: string;
}

export interface ChangeRow {
  readonly id: string;
  /** Opaque: an integer on PouchDB, a string on CouchDB 2/3. */
  readonly seq: unknown;
  readonly deleted?: boolean;
  readonly changes: readonly { readonly rev: string }[];
  readonly doc?: CouchDoc;
}

export interface ChangesResponse {
  readonly results: readonly ChangeRow[];
  readonly last_seq: unknown;
}

export interface ChangesRequest {
  readonly since: string;
  readonly limit: number;
  readonly timeoutMs: number;
  readonly selector?: Readonly<Record<string, unknown>>;
}

/** The current state of one id, as _all_docs reports it. */
export type CurrentDoc =
  | { readonly state: 'missing' }
  | { readonly state: 'deleted'; readonly rev: string }
  | { readonly state: 'live'; readonly rev: string; readonly doc: CouchDoc };

export type BulkResult =
  | { readonly id: string; readonly ok: true; readonly rev: string }
  | { readonly id: string; readonly ok: false; readonly error: string; readonly reason: string };

/**
 * The port the CouchDB plugin talks through: the few CouchDB 3 calls it needs, with errors
 * already sorted into outages (NotConnectedError) and request failures (CouchError).
 */
export interface CouchClient {
  /** Where the database lives, without credentials: for logs and attachment references. */
  readonly databaseUrl: string;
  changes(request: ChangesRequest, signal: AbortSignal): Promise<ChangesResponse>;
  /** One revision with its attachments inline (base64). */
  getWithAttachments(id: string, rev: string, signal: AbortSignal): Promise<CouchDoc>;
  /** One attachment of one revision, as bytes. */
  getAttachment(id: string, name: string, rev: string, signal: AbortSignal): Promise<Uint8Array>;
  /** The current revision (and body, with _conflicts) of each id, in bulk. */
  current(ids: readonly string[], signal: AbortSignal): Promise<Map<string, CurrentDoc>>;
  bulkDocs(docs: readonly CouchDoc[], signal: AbortSignal): Promise<readonly BulkResult[]>;
}

/** CouchDB answered with an error status: `error` and `reason` are CouchDB's. */
export class CouchError extends Error {
  override readonly name = 'CouchError';
  constructor(
    readonly status: number,
    readonly error: string,
    readonly reason: string,
  ) {
    super(`CouchDB ${status} ${error}: ${reason}`);
  }
}

/**
 * A database-level refusal (no such database, bad credentials, no permission) is a configuration
 * problem, not a record one: as a ConfigError the host reports it instead of retrying forever.
 */
export function databaseError(error: unknown, where: string): unknown {
  if (!(error instanceof CouchError) || ![401, 403, 404].includes(error.status)) return error;
  return new ConfigError(ErrorCodes.COUCHDB_REQUEST_FAILED, `${where}: ${error.message}`, {
    cause: error,
    details: { status: error.status, error: error.error, reason: error.reason },
  });
}

export interface CouchClientOptions {
  readonly url: string;
  readonly database: string;
  readonly requestTimeoutMs: number;
}

export function createCouchClient(options: CouchClientOptions): CouchClient {
  // identity: express-pouchdb's gzip buffers streamed responses; harmless against CouchDB.
  const nano = Nano({ url: options.url, headers: { 'Accept-Encoding': 'identity' } });
  const databaseUrl = `${withoutCredentials(options.url)}/${encodeURIComponent(options.database)}`;

  async function request<T>(
    what: string,
    opts: Nano.RequestOptions,
    signal: AbortSignal,
    timeoutMs = options.requestTimeoutMs,
  ): Promise<T> {
    const timeout = AbortSignal.timeout(timeoutMs);
    const combined = AbortSignal.any([signal, timeout]);
    try {
      // nano passes `signal` through to fetch, but its types do not list it.
      return (await nano.request({ db: options.database, ...opts, signal: combined } as Nano.RequestOptions)) as T;
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      throw classify(error, what, databaseUrl, timeout.aborted);
    }
  }

  return {
    databaseUrl,
    async changes(req, signal) {
      const qs = {
        feed: 'longpoll',
        include_docs: 'true',
        since: req.since,
        limit: String(req.limit),
        timeout: String(req.timeoutMs),
        ...(req.selector ? { filter: '_selector' } : {}),
      };
      const opts: Nano.RequestOptions = req.selector
        ? { method: 'POST', path: '_changes', qs, body: { selector: req.selector } }
        : { method: 'GET', path: '_changes', qs };
      // The server holds a longpoll up to its timeout: allow for that on top of the request timeout.
      const body = await request<unknown>('_changes', opts, signal, options.requestTimeoutMs + req.timeoutMs);
      return expectShape(body, (b): b is ChangesResponse => Array.isArray((b as ChangesResponse).results), '_changes', databaseUrl);
    },
    async getWithAttachments(id, rev, signal) {
      const body = await request<unknown>(
        `GET ${id}`,
        { method: 'GET', path: encodeDocId(id), qs: { rev, attachments: 'true', revs: 'false' } },
        signal,
      );
      return expectShape(body, (b): b is CouchDoc => (b as CouchDoc)._id === id, `GET ${id}`, databaseUrl);
    },
    async getAttachment(id, name, rev, signal) {
      const body = await request<Buffer | string>(
        `GET ${id}/${name}`,
        { method: 'GET', path: `${encodeDocId(id)}/${encodeURIComponent(name)}`, qs: { rev }, encoding: 'binary' } as Nano.RequestOptions,
        signal,
      );
      // nano hands text/* bodies over decoded as UTF-8 text: encode them back.
      return new Uint8Array(typeof body === 'string' ? Buffer.from(body, 'utf8') : body);
    },
    async current(ids, signal) {
      const found = new Map<string, CurrentDoc>();
      if (ids.length === 0) return found;
      const body = expectShape(
        await request<unknown>(
          '_all_docs',
          { method: 'POST', path: '_all_docs', qs: { include_docs: 'true', conflicts: 'true' }, body: { keys: ids } },
          signal,
        ),
        (b): b is { rows: AllDocsRow[] } => Array.isArray((b as { rows?: unknown }).rows),
        '_all_docs',
        databaseUrl,
      );
      for (const row of body.rows) {
        if (row.key === undefined) continue;
        if (row.error !== undefined || row.value === undefined) found.set(row.key, { state: 'missing' });
        else if (row.value.deleted === true) found.set(row.key, { state: 'deleted', rev: row.value.rev });
        else if (row.doc) found.set(row.key, { state: 'live', rev: row.value.rev, doc: row.doc });
      }
      return found;
    },
    async bulkDocs(docs, signal) {
      const rows = expectShape(
        await request<unknown>('_bulk_docs', { method: 'POST', path: '_bulk_docs', body: { docs } }, signal),
        (b): b is BulkRow[] => Array.isArray(b) && b.length === docs.length,
        '_bulk_docs',
        databaseUrl,
      );
      return rows.map((row, i) => {
        const id = row.id ?? docs[i]?._id ?? '';
        if (row.rev !== undefined && row.error === undefined) return { id, ok: true, rev: row.rev };
        return { id, ok: false, error: row.error ?? 'unknown_error', reason: row.reason ?? 'no reason given' };
      });
    },
  };
}

interface AllDocsRow {
  readonly key?: string;
  readonly error?: string;
  readonly value?: { readonly rev: string; readonly deleted?: boolean };
  readonly doc?: CouchDoc | null;
}

interface BulkRow {
  readonly id?: string;
  readonly rev?: string;
  readonly error?: string;
  readonly reason?: string;
}

/** Design and local documents keep their slash; every other id is one path segment. */
function encodeDocId(id: string): string {
  const match = /^(_design|_local)\/(.*)$/.exec(id);
  return match ? `${match[1]}/${encodeURIComponent(match[2] ?? '')}` : encodeURIComponent(id);
}

/**
 * nano resolves a 2xx whose JSON body was cut off (the server went away mid-response) with an
 * empty string: treat any body of the wrong shape as a broken connection, to be retried.
 */
function expectShape<T>(body: unknown, is: (body: unknown) => body is T, what: string, where: string): T {
  if (typeof body === 'object' && body !== null && is(body)) return body;
  throw new NotConnectedError(ErrorCodes.COUCHDB_UNREACHABLE, `${what} on ${where}: incomplete or unexpected response`, {
    details: { received: typeof body },
  });
}

interface NanoError {
  readonly statusCode?: number;
  readonly error?: string;
  readonly reason?: string;
  readonly message?: string;
}

function classify(error: unknown, what: string, where: string, timedOut: boolean): Error {
  const e = (typeof error === 'object' && error !== null ? error : {}) as NanoError;
  if (timedOut) {
    return new NotConnectedError(ErrorCodes.COUCHDB_UNREACHABLE, `${what} on ${where} timed out`, { cause: error });
  }
  if (e.statusCode === undefined) {
    return new NotConnectedError(ErrorCodes.COUCHDB_UNREACHABLE, `${what} on ${where}: ${e.message ?? String(error)}`, {
      cause: error,
    });
  }
  if (e.statusCode >= 500) {
    return new TransientError(ErrorCodes.COUCHDB_UNREACHABLE, `${what} on ${where}: ${e.statusCode} ${e.reason ?? ''}`, {
      cause: error,
    });
  }
  return new CouchError(e.statusCode, e.error ?? 'unknown_error', e.reason ?? e.message ?? 'no reason given');
}
