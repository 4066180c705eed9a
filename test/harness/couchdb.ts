import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { makeTempDir, removeDir, startProcess, waitUntil, type ServiceProcess } from './service-process.js';

/**
 * A CouchDB for tests. Without COUCHDB_URL: the embedded CouchDB-protocol server
 * (couchdb-server.ts: express-pouchdb + in-memory PouchDB, with fixes) as a child process.
 * With COUCHDB_URL (e.g. http://admin:pw@127.0.0.1:5984): that server, started by someone else.
 *
 * Limits of the embedded server: data lives in memory only (there is no pouchdb-adapter-leveldb in
 * this tree, so no persistent `dir` option), sequences are integers where CouchDB 3 uses opaque
 * strings, and `_active_tasks` lists no replications. Treat sequences as opaque.
 */

export interface CouchDbOptions {
  /** How long the embedded server may take to answer GET / (ms). */
  startTimeoutMs?: number;
}

export interface CouchDb {
  /** Base URL without a trailing slash; carries the credentials of COUCHDB_URL if it had any. */
  readonly url: string;
  /** The embedded server's pid (changes on restart); undefined for an external server. */
  readonly pid: number | undefined;
  readonly external: boolean;
  /** Creates a database named `${prefix}-<unique suffix>` and returns the name. */
  createDatabase(prefix?: string): Promise<string>;
  /** Embedded: kills the server (by pid). External: deletes the databases this handle created. */
  stop(): Promise<void>;
  /**
   * Embedded only: stops the server and starts a new one on the same port. Memory data is lost, so
   * the databases made by createDatabase() come back under the same names, but EMPTY.
   */
  restart(): Promise<void>;
}

const HOST = '127.0.0.1';
const SERVER_SCRIPT = fileURLToPath(new URL('./couchdb-server.ts', import.meta.url));
// Resolved here, because the server runs with a temp dir as cwd, where `--import tsx` would not resolve.
const TSX_LOADER = import.meta.resolve('tsx');

export async function startCouchDb(options: CouchDbOptions = {}): Promise<CouchDb> {
  const externalUrl = process.env['COUCHDB_URL'];
  if (externalUrl) return connectExternal(externalUrl);
  return startEmbedded(options.startTimeoutMs ?? 15_000);
}

interface Running {
  proc: ServiceProcess;
  url: string;
}

async function startEmbedded(timeoutMs: number): Promise<CouchDb> {
  // The server's working directory: express-pouchdb's log and anything else it writes go there.
  const workDir = await makeTempDir('couchdb');
  let running: Running;
  try {
    running = await launch(workDir, 0, timeoutMs);
  } catch (error) {
    await removeDir(workDir);
    throw error;
  }
  const port = new URL(running.url).port;
  const created: string[] = [];
  let stopped = false;
  return {
    url: running.url,
    get pid() {
      return running.proc.pid;
    },
    external: false,
    async createDatabase(prefix) {
      const name = uniqueDatabaseName(prefix);
      await createDatabaseNamed(running.url, name);
      created.push(name);
      return name;
    },
    async stop() {
      stopped = true;
      await running.proc.stop();
      await removeDir(workDir);
    },
    async restart() {
      if (stopped) throw new Error('restart() after stop()');
      await running.proc.stop();
      // The databases are created before the new server serves anyone: a client reconnecting
      // during the restart must never find them missing.
      running = await launch(workDir, Number(port), timeoutMs, created);
    },
  };
}

/** Starts couchdb-server.ts; ready = its ready line on stdout AND a CouchDB welcome on GET /. */
async function launch(workDir: string, port: number, timeoutMs: number, databases: readonly string[] = []): Promise<Running> {
  const args = ['--import', TSX_LOADER, SERVER_SCRIPT, '--host', HOST, '--port', String(port), '--log', join(workDir, 'couchdb.log')];
  for (const name of databases) args.push('--db', name);
  const proc = startProcess(process.execPath, args, { cwd: workDir, stdio: ['ignore', 'pipe', 'pipe'] });
  let announced: string | undefined;
  try {
    if (!proc.child.stdout) throw new Error('couchdb-server started without a stdout pipe');
    // Keeps stdout drained for the life of the process, not only until the ready line.
    createInterface({ input: proc.child.stdout }).on('line', (line) => {
      announced ??= readyUrlOf(line);
    });
    const url = await waitUntil('couchdb-server ready line', () => Promise.resolve(announced), { proc, timeoutMs });
    await waitUntil(`CouchDB welcome from ${url}`, async () => ((await isCouchDb(url)) ? true : undefined), { proc, timeoutMs });
    return { proc, url };
  } catch (error) {
    await proc.stop();
    throw error;
  }
}

function readyUrlOf(line: string): string | undefined {
  try {
    const message: unknown = JSON.parse(line);
    if (typeof message === 'object' && message !== null && 'ready' in message && 'url' in message) {
      return message.ready === true && typeof message.url === 'string' ? message.url : undefined;
    }
  } catch {
    // not the ready line
  }
  return undefined;
}

async function connectExternal(rawUrl: string): Promise<CouchDb> {
  const url = rawUrl.replace(/\/+$/, '');
  if (!(await isCouchDb(url))) throw new Error(`COUCHDB_URL ${withoutCredentials(url)} does not answer GET / with a CouchDB welcome`);
  const created = new Set<string>();
  return {
    url,
    pid: undefined,
    external: true,
    async createDatabase(prefix) {
      const name = uniqueDatabaseName(prefix);
      await createDatabaseNamed(url, name);
      created.add(name);
      return name;
    },
    async stop() {
      const names = [...created];
      created.clear();
      await Promise.all(names.map((name) => deleteDatabase(url, name)));
    },
    restart() {
      return Promise.reject(new Error('restart() is only available for the embedded server, not for COUCHDB_URL'));
    },
  };
}

let databaseCounter = 0;

/** Unique across processes, so test files sharing one external CouchDB never collide. */
function uniqueDatabaseName(prefix = 'pubsync-test'): string {
  if (!/^[a-z][a-z0-9_$()+/-]*$/.test(prefix)) throw new Error(`invalid CouchDB database name prefix: ${prefix}`);
  databaseCounter += 1;
  return `${prefix}-${process.pid}-${databaseCounter}-${randomBytes(3).toString('hex')}`;
}

async function createDatabaseNamed(url: string, name: string): Promise<void> {
  const { status, body } = await couchRequest(url, 'PUT', encodeURIComponent(name));
  // 202: created, but not yet on a write quorum of a cluster's nodes.
  if (status !== 201 && status !== 202) throw new Error(`could not create database ${name}: ${status} ${JSON.stringify(body)}`);
}

async function deleteDatabase(url: string, name: string): Promise<void> {
  const { status, body } = await couchRequest(url, 'DELETE', encodeURIComponent(name));
  if (status !== 200 && status !== 202 && status !== 404) throw new Error(`could not delete database ${name}: ${status} ${JSON.stringify(body)}`);
}

async function isCouchDb(url: string): Promise<boolean> {
  try {
    const { status, body } = await couchRequest(url, 'GET', '');
    return status === 200 && typeof body === 'object' && body !== null && 'couchdb' in body && body.couchdb === 'Welcome';
  } catch {
    return false;
  }
}

/** fetch() refuses URLs with credentials, so they travel as a Basic Authorization header. */
async function couchRequest(url: string, method: string, path: string): Promise<{ status: number; body: unknown }> {
  const target = new URL(url);
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (target.username || target.password) {
    const credentials = `${decodeURIComponent(target.username)}:${decodeURIComponent(target.password)}`;
    headers['Authorization'] = `Basic ${Buffer.from(credentials).toString('base64')}`;
  }
  const response = await fetch(`${withoutCredentials(url)}/${path}`, { method, headers });
  const text = await response.text();
  return { status: response.status, body: parseJson(text) };
}

function withoutCredentials(url: string): string {
  const target = new URL(url);
  target.username = '';
  target.password = '';
  return target.href.replace(/\/+$/, '');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
