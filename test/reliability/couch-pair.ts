import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCouchDb, type CouchDb } from '../harness/couchdb.js';
import { startProsody, type ProsodyServer } from '../harness/prosody.js';
import { testDatabase, type TestDatabase } from '../integration/couchdb/couch-fixture.js';
import { startDaemon, type DaemonProcess, type StartDaemonOptions } from '../support/daemon-process.js';
import { openStateStore } from '../../src/state/index.js';

/**
 * The end-to-end setup of the reliability tests, all real and in separate processes: an
 * application database A on one CouchDB server, daemon A (`pubsync run`, CouchDB source) publishing
 * to a whitelist node on a real Prosody, daemon B (`pubsync run`) subscribed to it and writing into
 * database B on another CouchDB server. Either daemon can be SIGKILLed and started again over its
 * state database; each server can be restarted or stopped.
 */
export interface CouchPair {
  readonly prosody: ProsodyServer;
  readonly serverA: CouchDb;
  readonly serverB: CouchDb;
  readonly dbA: TestDatabase;
  readonly dbB: TestDatabase;
  readonly nameA: string;
  readonly nameB: string;
  readonly dir: string;
  readonly statePathA: string;
  readonly statePathB: string;
  readonly configA: string;
  readonly configB: string;
  a: DaemonProcess | undefined;
  b: DaemonProcess | undefined;
  startA(options?: StartDaemonOptions): Promise<DaemonProcess>;
  startB(options?: StartDaemonOptions): Promise<DaemonProcess>;
  /** Dead letters of a daemon's state database (read while it runs: WAL readers do not block). */
  deadLetters(which: 'a' | 'b'): { code: string; message: string }[];
  close(): Promise<void>;
}

export interface CouchPairOptions {
  readonly logLevel?: 'debug' | 'info' | 'warn';
  /** Extra YAML lines for daemon A's config (after the base). */
  readonly extraA?: readonly string[];
  readonly stateDirA?: string;
  readonly sourceOptions?: Record<string, unknown>;
  /** Credentials for both CouchDB servers: a user is created and its name:password put in the URLs. */
  readonly couchUser?: { readonly name: string; readonly password: string };
  /** The sink's CouchDB URL as daemon B sees it (e.g. through a TcpProxy); serverB's otherwise. */
  readonly sinkUrl?: (serverB: CouchDb) => Promise<string>;
  /** A shared Prosody (the pair does not stop it); a fresh one otherwise. */
  readonly prosody?: ProsodyServer;
}

export async function startCouchPair(options: CouchPairOptions = {}): Promise<CouchPair> {
  const dir = await mkdtemp(join(tmpdir(), 'pubsync-reliability-'));
  const ownProsody = options.prosody === undefined;
  // Generous start deadlines: these tests run beside others on a loaded machine.
  const prosody = options.prosody ?? (await startProsody({ admins: ['rel-a@localhost'], startTimeoutMs: 60_000 }));
  const started = await Promise.allSettled([startCouchDb({ startTimeoutMs: 60_000 }), startCouchDb({ startTimeoutMs: 60_000 })]);
  const [serverA, serverB] = started.map((s) => (s.status === 'fulfilled' ? s.value : undefined));
  if (!serverA || !serverB) {
    // What did start is stopped, or it would keep the test process alive.
    await Promise.all([serverA?.stop(), serverB?.stop(), ownProsody ? prosody.stop() : undefined, rm(dir, { recursive: true, force: true })]);
    throw started.flatMap((s) => (s.status === 'rejected' ? [s.reason as Error] : []))[0] ?? new Error('CouchDB did not start');
  }
  const [nameA, nameB] = await Promise.all([serverA.createDatabase('origin'), serverB.createDatabase('replica')]);
  const accountA = await prosody.createAccount('rel-a');
  const accountB = await prosody.createAccount('rel-b');
  const level = options.logLevel ?? 'info';
  const statePathA = join(options.stateDirA ?? dir, 'a.db');
  const statePathB = join(dir, 'b.db');
  const xmpp = (jid: string, password: string): string[] => [
    'xmpp:',
    `  service: ${prosody.service}`,
    `  domain: ${prosody.domain}`,
    `  jid: ${jid}`,
    `  password: ${JSON.stringify(password)}`,
    `  pubsubService: ${prosody.pubsubService}`,
  ];
  const configA = join(dir, 'a.yaml');
  const configB = join(dir, 'b.yaml');
  const user = options.couchUser;
  if (user) await Promise.all([createCouchUser(serverA.url, user), createCouchUser(serverB.url, user)]);
  const withUser = (url: string): string => {
    if (!user) return url;
    const parsed = new URL(url);
    parsed.username = user.name;
    parsed.password = user.password;
    return parsed.href.replace(/\/$/, '');
  };
  const sinkUrl = withUser(options.sinkUrl ? await options.sinkUrl(serverB) : serverB.url);
  const sourceOptions = { url: withUser(serverA.url), database: nameA, longpollTimeoutMs: 1000, reconnectMinMs: 50, reconnectMaxMs: 1000, ...options.sourceOptions };
  await writeFile(
    configA,
    [
      'replica: { id: 1 }',
      `state: { path: ${JSON.stringify(statePathA)} }`,
      `log: { level: ${level} }`,
      ...xmpp(accountA.jid, accountA.password),
      `sources: [{ name: origin, plugin: couchdb, options: ${JSON.stringify(sourceOptions)} }]`,
      `nodes: [{ name: docs, members: [${accountB.jid}] }]`,
      ...(options.extraA ?? []),
      '',
    ].join('\n'),
  );
  await writeFile(
    configB,
    [
      'replica: { id: 2 }',
      `state: { path: ${JSON.stringify(statePathB)} }`,
      `log: { level: ${level} }`,
      ...xmpp(accountB.jid, accountB.password),
      `sinks: [{ name: replica, plugin: couchdb, options: ${JSON.stringify({ url: sinkUrl, database: nameB })} }]`,
      `subscriptions: [{ name: from-a, node: docs, publisher: ${accountA.jid}, sink: replica }]`,
      '',
    ].join('\n'),
  );
  const pair: CouchPair = {
    prosody,
    serverA,
    serverB,
    dbA: testDatabase(serverA.url, nameA),
    dbB: testDatabase(serverB.url, nameB),
    nameA,
    nameB,
    dir,
    statePathA,
    statePathB,
    configA,
    configB,
    a: undefined,
    b: undefined,
    async startA(startOptions) {
      pair.a = startDaemon(configA, startOptions);
      await pair.a.logged('ready');
      return pair.a;
    },
    async startB(startOptions) {
      pair.b = startDaemon(configB, startOptions);
      await pair.b.logged('ready');
      return pair.b;
    },
    deadLetters(which) {
      const store = openStateStore(which === 'a' ? statePathA : statePathB);
      try {
        return store.listDeadLetters({ limit: 1000 }).map((d) => ({ code: d.code, message: d.message }));
      } finally {
        store.close();
      }
    },
    async close() {
      await Promise.all([pair.a?.kill9(), pair.b?.kill9()]);
      await Promise.all([serverA.stop(), serverB.stop(), ownProsody ? prosody.stop() : undefined]);
      await rm(dir, { recursive: true, force: true });
    },
  };
  return pair;
}

async function createCouchUser(url: string, user: { name: string; password: string }): Promise<void> {
  const response = await fetch(`${url}/_users/org.couchdb.user:${encodeURIComponent(user.name)}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: user.name, password: user.password, roles: [], type: 'user' }),
  });
  if (response.status !== 201) throw new Error(`could not create CouchDB user ${user.name}: ${response.status}`);
}
