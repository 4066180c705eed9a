import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCouchDb, type CouchDb } from '../../test/harness/couchdb.js';
import { startProsody, type ProsodyServer } from '../../test/harness/prosody.js';
import { waitForCount } from './couch-http.js';
import { DaemonProcess, xmppSection } from './daemon-process.js';

export const IDENTITY_XSL = fileURLToPath(new URL('../../transforms/identity.xsl', import.meta.url));

export interface CouchPipelineOptions {
  /** Subscriber daemons, each with its own CouchDB database on server B. Default 1. */
  readonly subscribers?: number;
  /** The subscription's stylesheet; none when null. Default identity.xsl. */
  readonly stylesheet?: string | null;
  /** Extra xmpp options of the publisher (publish batching). */
  readonly publish?: Record<string, unknown>;
  /** Seed the origin with this many documents before the publisher starts (a backlog). */
  readonly beforeStart?: (a: CouchDb, origin: string) => Promise<void>;
  /** Prototype fixes swapped into every daemon (PUBSYNC_BENCH_SWAP syntax, see swap-hooks.mjs). */
  readonly swap?: string;
  /** Extra options of the publisher's node (e.g. persistItems: false). */
  readonly node?: Record<string, unknown>;
}

/**
 * The production path between two applications: CouchDB A -> `pubsync run` (couchdb source) ->
 * Prosody -> `pubsync run` (subscription, couchdb sink) -> CouchDB B, all real processes.
 */
export class CouchPipeline {
  readonly daemons: DaemonProcess[] = [];
  readonly replicas: string[] = [];
  origin = '';
  publisher!: DaemonProcess;
  subscribers: DaemonProcess[] = [];
  /** performance.now() just before the publisher daemon was started. */
  publisherStartedAt = 0;

  private constructor(
    readonly a: CouchDb,
    readonly b: CouchDb,
    readonly prosody: ProsodyServer,
    readonly dir: string,
  ) {}

  static async start(options: CouchPipelineOptions = {}): Promise<CouchPipeline> {
    // Generous start timeouts: on a shared machine a start can take many seconds.
    const [a, b] = await Promise.all([startCouchDb({ startTimeoutMs: 120_000 }), startCouchDb({ startTimeoutMs: 120_000 })]);
    const prosody = await startProsody({ admins: ['pub@localhost'], startTimeoutMs: 120_000 });
    const pipeline = new CouchPipeline(a, b, prosody, await mkdtemp(join(tmpdir(), 'pubsync-bench-couch-')));
    try {
      await pipeline.#start(options);
    } catch (error) {
      await pipeline.stop();
      throw error;
    }
    return pipeline;
  }

  async #start(options: CouchPipelineOptions): Promise<void> {
    const { a, b, prosody, dir } = this;
    const pub = await prosody.createAccount('pub');
    const subs = await Promise.all(Array.from({ length: options.subscribers ?? 1 }, (_, i) => prosody.createAccount(`sub${i}`)));
    this.origin = await a.createDatabase('origin');
    for (const _ of subs) this.replicas.push(await b.createDatabase('replica'));
    await options.beforeStart?.(a, this.origin);
    const swap = options.swap === undefined ? {} : { swap: options.swap };
    const stylesheet = options.stylesheet === undefined ? IDENTITY_XSL : options.stylesheet;
    // Subscribers first: the node exists once the publisher is ready, and a subscription made
    // before it retries; items published before a subscription reach it through catch-up.
    this.publisherStartedAt = performance.now();
    this.publisher = await DaemonProcess.start('publisher', dir, {
      replica: { id: 1 },
      state: { path: join(dir, 'publisher.db') },
      xmpp: xmppSection(prosody, pub, options.publish ? { publish: options.publish } : {}),
      sources: [{ name: 'couch', plugin: 'couchdb', options: { url: a.url, database: this.origin } }],
      // PUBSYNC_BENCH_NODE='{"persistItems":false}': node options for every pipeline of the run.
      nodes: [{ name: 'docs', members: subs.map((s) => s.jid), ...(options.node ?? (JSON.parse(process.env['PUBSYNC_BENCH_NODE'] ?? '{}') as Record<string, unknown>)) }],
    }, swap);
    this.daemons.push(this.publisher);
    this.subscribers = await Promise.all(
      subs.map((sub, i) =>
        DaemonProcess.start(`subscriber-${i}`, dir, {
          replica: { id: 2 + i },
          state: { path: join(dir, `subscriber-${i}.db`) },
          xmpp: xmppSection(prosody, sub),
          sinks: [{ name: 'couch', plugin: 'couchdb', options: { url: b.url, database: this.replicas[i] } }],
          subscriptions: [{ name: 'in', node: 'docs', publisher: pub.jid, sink: 'couch', ...(stylesheet ? { transform: { stylesheet } } : {}) }],
        }, swap),
      ),
    );
    this.daemons.push(...this.subscribers);
  }

  /** performance.now() when every replica holds `count` documents; throws if a daemon died. */
  async allReplicasHold(count: number, timeoutMs = 3_600_000): Promise<number> {
    let last = 0;
    for (const replica of this.replicas) {
      last = await waitForCount(this.b.url, replica, count, timeoutMs, () => this.assertRunning());
    }
    return last;
  }

  assertRunning(): void {
    for (const daemon of this.daemons) daemon.assertRunning();
  }

  async stopDaemons(): Promise<void> {
    for (const daemon of this.daemons.splice(0)) await daemon.stop();
  }

  async stop(): Promise<void> {
    await this.stopDaemons();
    await this.prosody.stop();
    await Promise.all([this.a.stop(), this.b.stop()]);
    await rm(this.dir, { recursive: true, force: true });
  }
}
