import type { Request, Response } from 'express';
import type expressPouchDB from 'express-pouchdb';
import type PouchDB from 'pouchdb-core';
import { setImmediate as nextMacrotask } from 'node:timers/promises';

/**
 * A CouchDB-3-like handler for GET/POST /:db/_changes, replacing express-pouchdb 4.2.0's, which
 * ignores longpoll/continuous `timeout` and `limit`, never ends a continuous feed with last_seq,
 * writes the normal feed as one line (breaks nano's changesReader.spool), crashes on
 * filter=_selector and holds headers until the first byte of the feed.
 * See /work/shared/notes/couchdb-pouchdb.md.
 */

type Seq = PouchDB.Seq;
type Feed = 'normal' | 'longpoll' | 'continuous' | 'eventsource';

/** CouchDB's default `changes_timeout` and heartbeat interval. */
const DEFAULT_WAIT_MS = 60_000;
const FEEDS: readonly Feed[] = ['normal', 'longpoll', 'continuous', 'eventsource'];

interface FeedRequest {
  feed: Feed;
  since: Seq;
  limit: number | undefined;
  timeoutMs: number;
  /** A heartbeat keeps the feed open forever, like CouchDB, so it disables timeoutMs. */
  heartbeatMs: number | undefined;
  descending: boolean;
  /** Everything PouchDB needs to select and shape rows, without since/limit/live. */
  select: PouchDB.ChangesOptions;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly reason: string,
  ) {
    super(reason);
  }
}

function badRequest(reason: string): HttpError {
  return new HttpError(400, 'bad_request', reason);
}

export function changesHandler(req: Request, res: Response): void {
  // The response's close event, not the request's: on Node >= 16 the request emits close as soon as
  // a POST body has been read, which used to end longpolls early.
  const closed = new AbortController();
  res.once('close', () => closed.abort());
  serveChanges(req as expressPouchDB.DbRequest, res, closed.signal).catch((error: unknown) => sendFailure(res, error));
}

async function serveChanges(req: expressPouchDB.DbRequest, res: Response, closed: AbortSignal): Promise<void> {
  const request = parseFeedRequest(req);
  // Bad design-doc filters must fail with a status code, before a 200 is on the wire.
  await probeFilter(req.db, request.select);
  const since = await resolveSince(req.db, request.since);
  if (request.feed === 'normal') return sendBatch(req, res, await readBatch(req.db, request, since));
  if (request.feed === 'longpoll') return serveLongpoll(req, res, request, since, closed);
  return serveLive(req, res, request, since, closed, request.feed === 'eventsource' ? EVENTSOURCE : CONTINUOUS);
}

function parseFeedRequest(req: Request): FeedRequest {
  // express-pouchdb has already JSON-parsed every query value (limit=5 is a number, since=now a string).
  const query = req.query as Record<string, unknown>;
  const feed = query['feed'] ?? 'normal';
  if (!FEEDS.includes(feed as Feed)) throw badRequest(`unknown feed: ${String(feed)}`);
  return {
    feed: feed as Feed,
    since: parseSince(query['since']),
    // CouchDB (and PouchDB) answer limit=0 with one row.
    limit: query['limit'] === undefined ? undefined : Math.max(1, nonNegative(query['limit'], 'limit')),
    timeoutMs: query['timeout'] === undefined ? DEFAULT_WAIT_MS : nonNegative(query['timeout'], 'timeout'),
    heartbeatMs: parseHeartbeat(query['heartbeat']),
    descending: query['descending'] === true,
    select: {
      include_docs: query['include_docs'] === true,
      conflicts: query['conflicts'] === true,
      attachments: query['attachments'] === true,
      descending: query['descending'] === true,
      style: query['style'] === 'all_docs' ? 'all_docs' : 'main_only',
      ...filterOptions(query, req.body as unknown),
    },
  };
}

function parseSince(value: unknown): Seq {
  if (value === undefined) return 0;
  if (typeof value === 'number' || typeof value === 'string') return value;
  throw badRequest('since must be a sequence or "now"');
}

/** heartbeat=true means CouchDB's default interval; false or 0 means none. */
function parseHeartbeat(value: unknown): number | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return DEFAULT_WAIT_MS;
  return nonNegative(value, 'heartbeat') || undefined;
}

function nonNegative(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw badRequest(`${name} must be a non-negative number`);
  return value;
}

/** Maps CouchDB's built-in filters onto PouchDB options; design-doc filters pass through. */
function filterOptions(query: Record<string, unknown>, body: unknown): Partial<PouchDB.ChangesOptions> {
  const filter = query['filter'];
  const payload = isRecord(body) ? body : {};
  if (filter === undefined) return {};
  if (typeof filter !== 'string') throw badRequest('filter must be a string');
  switch (filter) {
    case '_doc_ids': {
      const ids = payload['doc_ids'] ?? query['doc_ids'];
      if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string')) throw badRequest('filter=_doc_ids needs a doc_ids array');
      return { doc_ids: ids };
    }
    case '_selector': {
      const selector = payload['selector'];
      if (!isRecord(selector)) throw badRequest('Selector must be specified in POST payload');
      return { selector };
    }
    case '_design':
      return { filter: (doc) => doc._id.startsWith('_design/') };
    case '_view':
      if (typeof query['view'] !== 'string') throw badRequest('filter=_view needs a view parameter');
      return { filter: '_view', view: query['view'] };
    default:
      // Design-doc filter functions read req.query, as on CouchDB.
      return { filter, query_params: { ...query } };
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A one-shot read. express-pouchdb's wrappers re-emit PouchDB's `error` event on their own
 * emitter, which throws when nobody listens (the filter=_selector crash): the promise carries it.
 */
function readOnce(db: PouchDB.Database, options: PouchDB.ChangesOptions): PromiseLike<PouchDB.ChangesResponse> {
  return db.changes(options).on('error', () => undefined);
}

/** A live feed whose failures reach onError only, never the process as an unhandled rejection. */
function openLive(
  db: PouchDB.Database,
  options: PouchDB.ChangesOptions,
  onChange: (change: PouchDB.Change) => void,
  onError: (error: unknown) => void,
): PouchDB.ChangesFeed {
  const feed = db.changes({ ...options, live: true }).on('change', onChange).on('error', onError);
  void feed.then(undefined, () => undefined);
  return feed;
}

async function probeFilter(db: PouchDB.Database, select: PouchDB.ChangesOptions): Promise<void> {
  if (typeof select.filter !== 'string') return;
  const { update_seq } = await db.info();
  await readOnce(db, { ...select, since: update_seq, limit: 1 });
}

async function resolveSince(db: PouchDB.Database, since: Seq): Promise<Seq> {
  return since === 'now' ? (await db.info()).update_seq : since;
}

function readBatch(db: PouchDB.Database, request: FeedRequest, since: Seq): PromiseLike<PouchDB.ChangesResponse> {
  const limit = request.limit === undefined ? {} : { limit: request.limit };
  return readOnce(db, { ...request.select, since, ...limit });
}

/**
 * CouchDB's `pending`: changes left after last_seq. PouchDB keeps superseded entries in its
 * sequence index, so after a limited read this can overcount updated documents; it is an estimate.
 */
async function pendingAfter(db: PouchDB.Database, lastSeq: Seq): Promise<number> {
  const { update_seq } = await db.info();
  return typeof update_seq === 'number' && typeof lastSeq === 'number' ? Math.max(0, update_seq - lastSeq) : 0;
}

/** CouchDB's field order, so a logged feed reads like the real one. */
function formatChange(change: PouchDB.Change): string {
  const { seq, id, changes, deleted, doc } = change;
  return JSON.stringify({ seq, id, changes, ...(deleted ? { deleted } : {}), ...(doc ? { doc } : {}) });
}

/** One change per line, as CouchDB writes it: nano's changesReader.spool() splits on lines. */
function formatBatch(batch: PouchDB.ChangesResponse, pending: number): string {
  const rows = batch.results.map(formatChange).join(',\n');
  return `{"results":[\n${rows}${rows ? '\n' : ''}],\n"last_seq":${JSON.stringify(batch.last_seq)},"pending":${pending}}\n`;
}

function jsonContentType(req: Request): string {
  // Like CouchDB: JSON only for clients that ask for it, text/plain for browsers and curl.
  return req.accepts(['text', 'json']) === 'json' ? 'application/json' : 'text/plain; charset=utf-8';
}

function startStream(res: Response, contentType: string): void {
  res.status(200);
  res.setHeader('Content-Type', contentType);
  res.setHeader('Cache-Control', 'must-revalidate');
  // Clients see the 200 at once instead of at the first heartbeat or change.
  res.flushHeaders();
}

async function sendBatch(req: expressPouchDB.DbRequest, res: Response, batch: PouchDB.ChangesResponse): Promise<void> {
  const body = formatBatch(batch, await pendingAfter(req.db, batch.last_seq));
  if (!res.headersSent) startStream(res, jsonContentType(req));
  res.end(body);
}

function startHeartbeat(res: Response, everyMs: number | undefined, beat: string): () => void {
  if (everyMs === undefined) return () => undefined;
  const timer = setInterval(() => res.write(beat), everyMs);
  return () => clearInterval(timer);
}

async function serveLongpoll(
  req: expressPouchDB.DbRequest,
  res: Response,
  request: FeedRequest,
  since: Seq,
  closed: AbortSignal,
): Promise<void> {
  const first = await readBatch(req.db, request, since);
  if (first.results.length > 0 || request.descending) return sendBatch(req, res, first);
  startStream(res, jsonContentType(req));
  // Whitespace before the JSON body keeps the connection alive and the body valid.
  const stopHeartbeat = startHeartbeat(res, request.heartbeatMs, '\n');
  try {
    const waitMs = request.heartbeatMs === undefined ? request.timeoutMs : undefined;
    const changed = await waitForChange(req.db, request.select, first.last_seq, waitMs, closed);
    if (closed.aborted) return;
    if (!changed) return await sendBatch(req, res, first);
    // Re-read instead of answering with the waking change, so a burst (e.g. _bulk_docs) comes back whole.
    await nextMacrotask();
    await sendBatch(req, res, await readBatch(req.db, request, first.last_seq));
  } finally {
    stopHeartbeat();
  }
}

/** Resolves true on the first matching change after `since`, false on timeout or client close. */
function waitForChange(
  db: PouchDB.Database,
  select: PouchDB.ChangesOptions,
  since: Seq,
  waitMs: number | undefined,
  closed: AbortSignal,
): Promise<boolean> {
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    let settled = false;
    const settle = (changed: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      closed.removeEventListener('abort', onClose);
      feed.cancel();
      resolve(changed);
    };
    const onClose = (): void => settle(false);
    // On error, wake anyway: the follow-up read reports it with a proper status.
    const feed = openLive(db, { ...select, include_docs: false, attachments: false, since }, () => settle(true), () => settle(true));
    if (waitMs !== undefined) timer = setTimeout(() => settle(false), waitMs);
    closed.addEventListener('abort', onClose, { once: true });
  });
}

interface LiveFormat {
  contentType: string;
  change(change: PouchDB.Change): string;
  heartbeat: string;
  end(lastSeq: Seq, pending: number): string;
}

const CONTINUOUS: LiveFormat = {
  contentType: 'application/json',
  change: (change) => `${formatChange(change)}\n`,
  heartbeat: '\n',
  end: (lastSeq, pending) => `${JSON.stringify({ last_seq: lastSeq, pending })}\n`,
};

const EVENTSOURCE: LiveFormat = {
  contentType: 'text/event-stream',
  change: (change) => `data: ${formatChange(change)}\nid: ${JSON.stringify(change.seq)}\n\n`,
  heartbeat: 'event: heartbeat\ndata: \n\n',
  end: () => '',
};

/**
 * feed=continuous|eventsource: backlog then live rows; ends after `limit` rows or `timeout` ms
 * without a change (unless a heartbeat is asked for), with a last_seq line like CouchDB.
 */
function serveLive(
  req: expressPouchDB.DbRequest,
  res: Response,
  request: FeedRequest,
  since: Seq,
  closed: AbortSignal,
  format: LiveFormat,
): Promise<void> {
  startStream(res, format.contentType);
  return new Promise((resolve) => {
    let lastSeq = since;
    let sent = 0;
    let idle: NodeJS.Timeout | undefined;
    let finished = false;
    function onChange(change: PouchDB.Change): void {
      if (finished) return;
      res.write(format.change(change));
      lastSeq = change.seq;
      sent += 1;
      if (request.limit !== undefined && sent >= request.limit) finish(true);
      else armIdleTimeout();
    }
    function onError(error: unknown): void {
      // The 200 is already on the wire: all a client can be told is that the feed ended early.
      console.error('couchdb-changes-route: live feed failed:', error);
      finish(false);
    }
    const feed = openLive(req.db, { ...request.select, since }, onChange, onError);
    const stopHeartbeat = startHeartbeat(res, request.heartbeatMs, format.heartbeat);
    const finish = (withLastSeq: boolean): void => {
      if (finished) return;
      finished = true;
      feed.cancel();
      clearTimeout(idle);
      stopHeartbeat();
      closed.removeEventListener('abort', onClose);
      if (!withLastSeq) {
        res.end();
        resolve();
        return;
      }
      void pendingAfter(req.db, lastSeq)
        .catch(() => 0)
        .then((pending) => res.end(format.end(lastSeq, pending)))
        .finally(resolve);
    };
    const onClose = (): void => finish(false);
    const armIdleTimeout = (): void => {
      if (request.heartbeatMs !== undefined) return;
      clearTimeout(idle);
      idle = setTimeout(() => finish(true), request.timeoutMs);
    };
    closed.addEventListener('abort', onClose, { once: true });
    armIdleTimeout();
  });
}

function sendFailure(res: Response, failure: unknown): void {
  if (res.headersSent) {
    console.error('couchdb-changes-route: feed failed after the headers were sent:', failure);
    res.end();
    return;
  }
  const { status, error, reason } = toCouchError(failure);
  res.status(status).json({ error, reason });
}

/** PouchDB errors carry CouchDB's status/name/reason; anything else is a 500. */
function toCouchError(failure: unknown): { status: number; error: string; reason: string } {
  if (failure instanceof HttpError) return failure;
  const details = isRecord(failure) ? failure : {};
  const status = typeof details['status'] === 'number' ? details['status'] : 500;
  const error = typeof details['name'] === 'string' && details['name'] !== 'Error' ? details['name'] : 'unknown_error';
  const reason = details['reason'] ?? details['message'] ?? String(failure);
  return { status, error, reason: String(reason) };
}
