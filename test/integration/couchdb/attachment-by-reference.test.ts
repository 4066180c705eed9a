import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { xml } from '@xmpp/client';
import { composeFromConfig } from '../../../src/app/compose.js';
import type { Daemon } from '../../../src/app/daemon.js';
import { configSchema } from '../../../src/config/schema.js';
import { ErrorCodes } from '../../../src/errors/codes.js';
import { SyncError } from '../../../src/errors/sync-error.js';
import { parseAttachmentUri } from '../../../src/format/attachment-uri.js';
import { CsnClock, parseEntry } from '../../../src/format/index.js';
import type { ObjectEntry } from '../../../src/format/model.js';
import { openStateStore } from '../../../src/state/index.js';
import { NS_ATTACHMENT } from '../../../src/transport/attachment-service.js';
import { StanzaRequestError, XmppConnection } from '../../../src/transport/xmpp-connection.js';
import type { XmppTransport } from '../../../src/transport/xmpp-transport.js';
import { startCouchDb, type CouchDb } from '../../harness/couchdb.js';
import { startProsody, type ProsodyServer, type XmppAccount } from '../../harness/prosody.js';
import { quiet } from '../xmpp/replicas.js';
import { testDatabase, type TestDatabase } from './couch-fixture.js';

const NODE = 'alpha-docs';
const SUBSCRIPTION = 'from-alpha';
/** Above the daemon's inline limit (64 KiB) and above one answer's chunk under the 256 KiB stanza limit. */
const LARGE = 300 * 1024;

/** One daemon with the real couchdb plugin, its own SQLite state in a temp dir. */
class CouchReplica {
  readonly dir = mkdtempSync(join(tmpdir(), 'pubsync-attach-'));
  daemon: Daemon | undefined;

  constructor(
    private readonly prosody: ProsodyServer,
    private readonly spec: {
      account: XmppAccount;
      replica: number;
      source?: { url: string; database: string };
      sink?: { url: string; database: string };
      nodes?: { name: string; members: string[] }[];
      subscriptions?: { name: string; node: string; publisher: string }[];
    },
  ) {}

  get statePath(): string {
    return join(this.dir, 'state.db');
  }

  get transport(): XmppTransport {
    const transport = this.daemon?.transport;
    if (!transport) throw new Error('replica not started');
    return transport as XmppTransport;
  }

  async start(): Promise<void> {
    const { prosody, spec } = this;
    const config = configSchema.parse({
      replica: { id: spec.replica },
      state: { path: this.statePath },
      xmpp: {
        service: prosody.service,
        domain: prosody.domain,
        jid: spec.account.jid,
        password: spec.account.password,
        pubsubService: prosody.pubsubService,
      },
      sources: spec.source
        ? [{ name: 'couch', plugin: 'couchdb', options: { ...spec.source, longpollTimeoutMs: 500, reconnectMinMs: 50, reconnectMaxMs: 500 } }]
        : [],
      sinks: spec.sink ? [{ name: 'couch', plugin: 'couchdb', options: spec.sink }] : [],
      nodes: spec.nodes ?? [],
      subscriptions: (spec.subscriptions ?? []).map((s) => ({ ...s, sink: 'couch' })),
    });
    this.daemon = await composeFromConfig({ file: join(this.dir, 'pubsync.yaml'), config, locate: () => undefined }, { logger: quiet });
    await this.daemon.start();
  }

  /** Reads the state database beside the running daemon (SQLite readers do not block it). */
  read<T>(read: (store: ReturnType<typeof openStateStore>) => T): T {
    const store = openStateStore(this.statePath);
    try {
      return read(store);
    } finally {
      store.close();
    }
  }

  /** Stops the daemon; start() again resumes from the same state, as after a restart. */
  async stop(): Promise<void> {
    await this.daemon?.stop();
    this.daemon = undefined;
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Two daemons through a real Prosody, each beside its own embedded CouchDB server: alpha publishes
 * database A, beta writes database B. Attachments above the inline limit travel by reference and
 * beta fetches them from alpha's attachment service; mallory is a client off the node whitelist.
 */
describe('couchdb: attachments by reference between two daemons', { timeout: 240_000 }, () => {
  let prosody: ProsodyServer;
  let serverA: CouchDb;
  let serverB: CouchDb;
  let a: TestDatabase;
  let b: TestDatabase;
  let alpha: CouchReplica;
  let beta: CouchReplica;
  let alphaAccount: XmppAccount;
  let betaAccount: XmppAccount;
  let mallory: XmppConnection;

  before(async () => {
    [prosody, serverA, serverB] = await Promise.all([startProsody({ admins: ['alpha@localhost'] }), startCouchDb(), startCouchDb()]);
    alphaAccount = await prosody.createAccount('alpha');
    betaAccount = await prosody.createAccount('beta');
    const malloryAccount = await prosody.createAccount('mallory');
    const [nameA, nameB] = await Promise.all([serverA.createDatabase('origin'), serverB.createDatabase('replica')]);
    a = testDatabase(serverA.url, nameA);
    b = testDatabase(serverB.url, nameB);
    alpha = new CouchReplica(prosody, {
      account: alphaAccount,
      replica: 1,
      source: { url: serverA.url, database: nameA },
      nodes: [{ name: NODE, members: [betaAccount.jid] }],
    });
    beta = new CouchReplica(prosody, {
      account: betaAccount,
      replica: 2,
      sink: { url: serverB.url, database: nameB },
      subscriptions: [{ name: SUBSCRIPTION, node: NODE, publisher: alphaAccount.jid }],
    });
    await alpha.start();
    await beta.start();
    mallory = new XmppConnection({
      service: prosody.service,
      domain: prosody.domain,
      jid: malloryAccount.jid,
      password: malloryAccount.password,
      resource: 'test',
      tls: 'required',
      logger: quiet,
    });
    await mallory.start();
  });

  after(async () => {
    await mallory?.stop();
    await beta?.dispose();
    await alpha?.dispose();
    await Promise.all([prosody?.stop(), serverA?.stop(), serverB?.stop()]);
  });

  it('fetches an attachment above the inline limit from the origin: byte-identical on B, with its content type', async (t) => {
    const bytes = randomBytes(LARGE);
    const started = Date.now();
    await a.db.multipart.insert({ type: 'photo', title: 'big' }, [{ name: 'photo.bin', data: bytes, content_type: 'application/octet-stream' }], 'doc-large');
    const stub = await until('the attachment on B', async () => (await attachmentOf(b, 'doc-large', 'photo.bin')) ?? undefined);
    t.diagnostic(`${LARGE} bytes by reference, A to B through two daemons: ${Date.now() - started} ms`);
    assert.equal(stub.contentType, 'application/octet-stream');
    assert.equal(stub.data.length, bytes.length);
    assert.ok(stub.data.equals(bytes), 'the bytes on B are those written on A');
    // It travelled by reference: the published entry holds an href, not the bytes.
    const entry = publishedEntry(alpha, 'doc-large');
    const attachment = entry.attachments.find((x) => x.name === 'photo.bin');
    assert.ok(attachment?.href && attachment.data === undefined, 'the entry carries a reference');
    assert.equal(attachment.sha256, sha256(bytes));
    assert.deepEqual(beta.read((store) => store.listDeadLetters({ limit: 100 })), []);
  });

  it('serves the attachment only to a peer on the whitelist of a node the entry was published to', async () => {
    const entry = publishedEntry(alpha, 'doc-large');
    const attachment = entry.attachments.find((x) => x.name === 'photo.bin');
    const ref = attachment?.href === undefined ? undefined : parseAttachmentUri(attachment.href);
    assert.ok(ref, 'the href is an attachment URI');
    assert.equal(ref.jid, `${alphaAccount.jid}/pubsync`);
    const ask = (connection: XmppConnection, sha = ref.sha256) =>
      connection.request(
        xml('iq', { type: 'get', to: ref.jid }, xml('attachment', { xmlns: NS_ATTACHMENT, entry: ref.entry, name: ref.name, sha256: sha, offset: '0' })),
        'fetch attachment',
      );
    await assert.rejects(ask(mallory), isCondition('forbidden'));
    // The same question from beta, on the whitelist, is answered: the refusal is about mallory.
    const answer = (await ask(beta.transport.connection)).getChild('attachment', NS_ATTACHMENT);
    assert.equal(answer?.attrs.length, String(LARGE));
    // Content the object no longer has (another digest) is not served, even to a member.
    await assert.rejects(ask(beta.transport.connection, '0'.repeat(64)), isCondition('item-not-found'));
  });

  it('treats an unreachable origin as transient (retried), not as a refusal, and fetches once it is back', async () => {
    const entry = publishedEntry(alpha, 'doc-large');
    const attachment = entry.attachments.find((x) => x.name === 'photo.bin');
    assert.ok(attachment);
    const resolver = beta.transport.attachments;
    await alpha.stop();
    try {
      await assert.rejects(resolver.resolve(attachment, entry, AbortSignal.timeout(30_000)), (error: unknown) => {
        assert.ok(error instanceof SyncError, String(error));
        assert.equal(error.kind, 'transient', error.message);
        assert.equal(error.code, ErrorCodes.ATTACHMENT_UNAVAILABLE);
        return true;
      });
    } finally {
      await alpha.start();
    }
    const data = await resolver.resolve(attachment, entry, AbortSignal.timeout(30_000));
    assert.equal(sha256(data), attachment.sha256);
  });

  it('dead-letters an entry whose fetched attachment does not match its digest, and writes nothing of it', async () => {
    const real = publishedEntry(alpha, 'doc-large');
    const before = await attachmentOf(b, 'doc-large', 'photo.bin');
    // A newer revision of the same object whose attachment claims another digest than the bytes
    // its href (the real one) serves: what a corrupted or forged entry looks like to beta.
    const csn = new CsnClock({ replica: 1, after: real.csn }).next();
    const forged: ObjectEntry = {
      ...real,
      csn,
      attachments: real.attachments.map((x) => ({ ...x, csn, sha256: sha256(Buffer.from('something else')) })),
    };
    const head = alpha.read((store) => store.lastOutboundSeq());
    await beta.daemon?.receive(SUBSCRIPTION, { origin: real.origin, firstSeq: head, lastSeq: head, entries: [forged] });
    const letter = await until('the dead letter on beta', () =>
      Promise.resolve(beta.read((store) => store.listDeadLetters({ limit: 100 })).find((d) => d.code === ErrorCodes.ATTACHMENT_MISMATCH)),
    );
    assert.equal(letter.entryId, real.id);
    assert.match(letter.message, /SHA-256/);
    assert.deepEqual((await attachmentOf(b, 'doc-large', 'photo.bin'))?.data, before?.data);
  });
});

/** The last entry alpha published for a CouchDB document, from its outbound log. */
function publishedEntry(replica: CouchReplica, docId: string): ObjectEntry {
  const records = replica.read((store) => store.readOutbound(0n, 10_000));
  const entries = records.map((r) => parseEntry(r.payload)).filter((e): e is ObjectEntry => !e.deleted && e.keys.some((k) => k.value === docId));
  const last = entries.at(-1);
  assert.ok(last, `alpha published ${docId}`);
  return last;
}

async function attachmentOf(db: TestDatabase, id: string, name: string): Promise<{ data: Buffer; contentType: string } | undefined> {
  try {
    const doc = (await db.db.get(id, { attachments: true })) as { _attachments?: Record<string, { data: string; content_type: string }> };
    const stub = doc._attachments?.[name];
    return stub ? { data: Buffer.from(stub.data, 'base64'), contentType: stub.content_type } : undefined;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    throw error;
  }
}

/** Polls until the probe yields something (the other daemon's work has no signal we can wait on). */
async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function isCondition(condition: string) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof StanzaRequestError, `expected a stanza error, got ${String(error)}`);
    assert.equal(error.condition, condition);
    return true;
  };
}
