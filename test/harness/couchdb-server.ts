import { randomUUID } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { devNull } from 'node:os';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import expressPouchDB from 'express-pouchdb';
import PouchDB from 'pouchdb-core';
import httpAdapter from 'pouchdb-adapter-http';
import memoryAdapter from 'pouchdb-adapter-memory';
import mapreduce from 'pouchdb-mapreduce';
import replication from 'pouchdb-replication';
import { changesHandler } from './couchdb-changes-route.js';

/**
 * An embedded CouchDB-protocol server for tests: express-pouchdb 4.2.0 over in-memory PouchDB 9,
 * with the fixes from /work/shared/notes/couchdb-pouchdb.md.
 *
 * As a script: node --import tsx test/harness/couchdb-server.ts --port 0 --host 127.0.0.1 [--log FILE]
 * prints {"ready":true,"url":"http://127.0.0.1:PORT"} on stdout once it answers requests.
 */

export interface CouchServerOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** express-pouchdb's CouchDB-style request log; discarded by default. */
  logPath?: string;
  /**
   * Databases that exist before the server serves anyone (a restart that brings its databases
   * back, as CouchDB's would). Until they are created every other request gets 503.
   */
  databases?: readonly string[];
}

export interface CouchServer {
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

/**
 * In-process server. memdown keeps every in-memory database in one process-wide store keyed by
 * name, so two servers in the same process share databases: use child processes for isolation.
 */
export async function createCouchServer(options: CouchServerOptions = {}): Promise<CouchServer> {
  const { host = '127.0.0.1', port = 0, logPath = devNull } = options;
  const app = expressPouchDB({
    mode: 'fullCouchDB',
    inMemoryConfig: true,
    logPath,
    // gzip buffers streamed responses (continuous feeds reach nano as nothing); Fauxton is not needed.
    overrideMode: { exclude: ['compression', 'routes/fauxton'] },
  });
  installFixes(app);
  await app.setPouchDB(createPouchDB());
  let open = (options.databases ?? []).length === 0;
  const server = createServer((req, res) => {
    if (open || req.headers[SETUP_HEADER] !== undefined) {
      app(req, res);
      return;
    }
    res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"unavailable","reason":"starting"}');
  });
  await listen(server, port, host);
  const url = urlOf(server, host);
  for (const name of options.databases ?? []) await createDatabase(url, name);
  open = true;
  return { url, server, close: () => closeServer(server) };
}

const SETUP_HEADER = 'x-pubsync-harness-setup';

async function createDatabase(url: string, name: string): Promise<void> {
  const response = await fetch(`${url}/${encodeURIComponent(name)}`, { method: 'PUT', headers: { [SETUP_HEADER]: '1' } });
  if (response.status !== 201 && response.status !== 412) {
    throw new Error(`could not create database ${name}: ${response.status} ${await response.text()}`);
  }
}

/**
 * Only the memory adapter plugin, never PouchDB.defaults({adapter: 'memory'}): that would turn the
 * http:// targets of _replicate into local memory databases. defaults({}) gives each server its own
 * constructor, so express-pouchdb's static wrappers are not installed twice on a shared one.
 */
const PouchWithPlugins = PouchDB.plugin(httpAdapter).plugin(memoryAdapter).plugin(replication).plugin(mapreduce);

function createPouchDB(): PouchDB.Static {
  return PouchWithPlugins.defaults({});
}

function installFixes(app: expressPouchDB.App): void {
  replaceRouteHandler(app, 'get', '/', () => welcomeHandler());
  replaceRouteHandler(app, 'get', '/:db/_changes', () => changesHandler);
  replaceRouteHandler(app, 'post', '/:db/_changes', () => changesHandler);
  replaceRouteHandler(app, 'put', '/:db/:id(*)', (original) => multipartAwarePut(original));
  replaceRouteHandler(app, 'post', '/:db/_bulk_docs', (original) => bulkDocsInRequestOrder(original));
}

/**
 * CouchDB answers _bulk_docs with one row per document in request order; pouchdb-validation's
 * bulkDocs wrapper puts the rows of documents a validate_doc_update refused first. Put them back
 * in request order (rows matched by id; documents without an _id keep the remaining rows' order).
 */
function bulkDocsInRequestOrder(original: RequestHandler): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const docs: unknown = (req.body as { docs?: unknown } | undefined)?.docs;
    if (!Array.isArray(docs)) {
      original(req, res, next);
      return;
    }
    const ids = docs.map((doc: unknown) => (typeof doc === 'object' && doc !== null ? (doc as { _id?: unknown })._id : undefined));
    const send = res.send.bind(res);
    res.send = (body?: unknown) => send(reorderBulkRows(body, ids));
    original(req, res, next);
  };
}

function reorderBulkRows(body: unknown, ids: readonly unknown[]): unknown {
  const text = Buffer.isBuffer(body) ? body.toString('utf8') : typeof body === 'string' ? body : undefined;
  if (text === undefined) return body;
  let rows: unknown;
  try {
    rows = JSON.parse(text);
  } catch {
    return body;
  }
  if (!Array.isArray(rows) || rows.length !== ids.length) return body;
  const remaining = [...(rows as { id?: unknown }[])];
  const take = (id: unknown): unknown => {
    const at = id === undefined ? -1 : remaining.findIndex((row) => row.id === id);
    return remaining.splice(at >= 0 ? at : 0, 1)[0];
  };
  const byId = ids.map((id) => (id === undefined ? undefined : take(id)));
  const ordered = byId.map((row) => row ?? remaining.shift());
  return Buffer.from(JSON.stringify(ordered));
}

interface RouteLayer {
  route?: { path: string; methods: Record<string, boolean>; stack: { handle: RequestHandler }[] };
}

/**
 * express-pouchdb's routes are fixed in order (a route added later would lose to '/:db/:id(*)'),
 * so the fix swaps the final handler of the existing route and keeps its middleware (body parser).
 */
function replaceRouteHandler(
  app: expressPouchDB.App,
  method: string,
  path: string,
  replace: (original: RequestHandler) => RequestHandler,
): void {
  const router: { stack: RouteLayer[] } = app._router;
  const routes = router.stack.flatMap((layer) => (layer.route?.path === path && layer.route.methods[method] ? [layer.route] : []));
  if (routes.length === 0) throw new Error(`express-pouchdb has no ${method.toUpperCase()} ${path} route to fix`);
  for (const route of routes) {
    const last = route.stack[route.stack.length - 1];
    if (last) last.handle = replace(last.handle);
  }
}

/**
 * CouchDB's welcome (express-pouchdb answers {"express-pouchdb":"Welcome!"}, which clients probing
 * for CouchDB reject). The version is the CouchDB API level the fixes emulate; the extra keys say
 * what is really answering.
 */
function welcomeHandler(): RequestHandler {
  const welcome = {
    couchdb: 'Welcome',
    version: '3.3.3',
    uuid: randomUUID().replaceAll('-', ''),
    features: [],
    vendor: { name: 'pubsync test harness (express-pouchdb 4.2.0 + PouchDB 9, in memory)' },
    'express-pouchdb': 'Welcome!',
  };
  return (_req, res) => {
    res.status(200).json(welcome);
  };
}

/**
 * express-pouchdb parses CouchDB-style multipart/related PUTs (what nano's multipart.insert and the
 * CouchDB replicator send) with multiparty, which JSON.parses attachment bodies and kills the
 * process. Decode them here into a document with inline base64 attachments and let the original
 * handler store it as a JSON PUT, with its authorisation options, ETag and Location.
 */
function multipartAwarePut(original: RequestHandler): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if (!/^multipart\/related/i.test(req.headers['content-type'] ?? '')) {
      original(req, res, next);
      return;
    }
    readMultipartDoc(req).then(
      (doc) => {
        req.body = doc;
        req.headers['content-type'] = 'application/json';
        original(req, res, next);
      },
      (error: unknown) => {
        res.status(400).json({ error: 'bad_request', reason: error instanceof Error ? error.message : String(error) });
      },
    );
  };
}

interface Part {
  headers: Record<string, string>;
  body: Buffer;
}

async function readMultipartDoc(req: Request): Promise<Record<string, unknown>> {
  const boundary = /boundary="?([^";]+)"?/i.exec(req.headers['content-type'] ?? '')?.[1];
  if (!boundary) throw new Error('multipart/related without a boundary');
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const [docPart, ...attachmentParts] = splitMultipart(Buffer.concat(chunks), boundary);
  if (!docPart) throw new Error('multipart/related body has no parts');
  const doc: unknown = JSON.parse(docPart.body.toString('utf8'));
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new Error('the first part must be a JSON document');
  inlineAttachments(doc as Record<string, unknown>, attachmentParts);
  return doc as Record<string, unknown>;
}

function splitMultipart(body: Buffer, boundary: string): Part[] {
  const delimiter = Buffer.from(`--${boundary}`);
  let at = body.indexOf(delimiter);
  if (at < 0) throw new Error('multipart boundary not found in the body');
  const parts: Part[] = [];
  for (;;) {
    at += delimiter.length;
    if (body.subarray(at, at + 2).toString() === '--') return parts;
    const start = body.indexOf('\r\n', at) + 2;
    const end = body.indexOf(Buffer.from(`\r\n--${boundary}`), start);
    if (start < 2 || end < 0) throw new Error('unterminated multipart part');
    parts.push(parsePart(body.subarray(start, end)));
    at = end + 2;
  }
}

function parsePart(raw: Buffer): Part {
  // A part without headers starts straight with the blank line.
  const headerEnd = raw.subarray(0, 2).toString() === '\r\n' ? 0 : raw.indexOf('\r\n\r\n');
  if (headerEnd < 0) throw new Error('multipart part without a blank line after its headers');
  const headers: Record<string, string> = {};
  for (const line of raw.subarray(0, headerEnd).toString('utf8').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { headers, body: raw.subarray(headerEnd === 0 ? 2 : headerEnd + 4) };
}

/**
 * CouchDB pairs parts with the `follows: true` attachments by Content-Disposition filename when
 * there is one, otherwise in the order the stubs appear in _attachments.
 */
function inlineAttachments(doc: Record<string, unknown>, parts: Part[]): void {
  const stubs = doc['_attachments'];
  if (typeof stubs !== 'object' || stubs === null) return;
  const entries = Object.entries(stubs as Record<string, Record<string, unknown>>);
  const following = entries.filter(([, stub]) => stub['follows'] === true);
  const unnamed = parts.filter((part) => filenameOf(part) === undefined);
  for (const [name, stub] of following) {
    const part = parts.find((candidate) => filenameOf(candidate) === name) ?? unnamed.shift();
    if (!part) throw new Error(`no multipart body for attachment ${name}`);
    // The replicator sends gzip-encoded attachments as they are stored; PouchDB wants the bytes.
    const data = stub['encoding'] === 'gzip' ? gunzipSync(part.body) : part.body;
    (stubs as Record<string, unknown>)[name] = {
      content_type: stub['content_type'] ?? part.headers['content-type'] ?? 'application/octet-stream',
      ...(stub['revpos'] === undefined ? {} : { revpos: stub['revpos'] }),
      data: data.toString('base64'),
    };
  }
}

function filenameOf(part: Part): string | undefined {
  return /filename="([^"]*)"/.exec(part.headers['content-disposition'] ?? '')?.[1];
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function urlOf(server: Server, host: string): string {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('server has no TCP address');
  return `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    // Live _changes feeds never end by themselves.
    server.closeAllConnections();
  });
}

/**
 * Malformed input that still reaches a buggy express-pouchdb handler must cost one request, not
 * the server every other test is talking to. Only for the standalone script: in-process it would
 * hide the test runner's own failures.
 */
function keepRunningOnUncaughtErrors(): void {
  process.on('uncaughtException', (error) => console.error('couchdb-server: uncaught exception, still serving:', error));
  process.on('unhandledRejection', (reason) => console.error('couchdb-server: unhandled rejection, still serving:', reason));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      host: { type: 'string', default: '127.0.0.1' },
      log: { type: 'string' },
      db: { type: 'string', multiple: true },
      dir: { type: 'string' },
    },
  });
  if (values.dir !== undefined) {
    throw new Error('--dir needs pouchdb-adapter-leveldb, which is not installed: only in-memory databases are available');
  }
  keepRunningOnUncaughtErrors();
  const { url } = await createCouchServer({
    host: values.host,
    port: Number(values.port),
    logPath: values.log,
    databases: values.db ?? [],
  });
  process.stdout.write(`${JSON.stringify({ ready: true, url })}\n`);
}

function isMainModule(): boolean {
  const script = process.argv[1];
  return script !== undefined && pathToFileURL(realpathSync(script)).href === import.meta.url;
}

if (isMainModule()) {
  main().catch((error: unknown) => {
    console.error('couchdb-server:', error);
    process.exit(1);
  });
}
