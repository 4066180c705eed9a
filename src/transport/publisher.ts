import type { Logger } from 'pino';
import { ErrorCodes } from '../errors/codes.js';
import { SyncError } from '../errors/sync-error.js';
import type { Origin } from '../format/model.js';
import { Backoff } from '../pipeline/backoff.js';
import type { StateStore } from '../state/state-store.js';
import { packFeeds, type PackLimits } from './feed-packer.js';
import { publish } from './pubsub-nodes.js';
import type { XmppConnection } from './xmpp-connection.js';

/** Where the publisher keeps its positions in the state store's key-value table. */
export const PUBLISHER_SCOPE = 'transport:publisher';

export interface PublisherOptions {
  readonly connection: XmppConnection;
  readonly store: StateStore;
  readonly service: string;
  readonly nodes: readonly string[];
  readonly origin: Origin;
  readonly logger: Logger;
  /** Flush when this many entries wait... */
  readonly maxEntries: number;
  /** ...or delayMs after the first of them arrived. */
  readonly delayMs: number;
  /** Bytes of one item (one feed); below the server's stanza limit. */
  readonly maxBytes: number;
  /** Bytes of an item holding one entry (the stanza limit minus the envelope). */
  readonly maxItemBytes?: number;
}

/**
 * Publishes the outbound log. Entries wait a little (adaptive batching) so that a burst becomes few
 * large items; each node gets feeds with contiguous sequence ranges. The position (the last log
 * sequence published, and per node the end of its last feed) is kept in the state store, so a
 * restart resumes where it stopped; republishing after a crash reuses item ids (PubSub replaces)
 * and receivers skip what they applied by CSN.
 */
export class Publisher {
  readonly #options: PublisherOptions;
  readonly #limits: PackLimits;
  readonly #backoff = new Backoff({ initialMs: 500, maxMs: 30_000 });
  #timer: NodeJS.Timeout | undefined;
  #retry: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #pending = 0;
  #stopped = false;
  /** Why the last round stopped short, until a round completes (for flush). */
  #failure: unknown;
  published = 0;

  constructor(options: PublisherOptions) {
    this.#options = options;
    this.#limits = { maxEntries: options.maxEntries, maxBytes: options.maxBytes, ...(options.maxItemBytes ? { maxItemBytes: options.maxItemBytes } : {}) };
  }

  /** New entries were committed to the log. */
  captured(count: number): void {
    this.#pending += count;
    if (this.#pending >= this.#options.maxEntries) void this.kick();
    else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => void this.kick(), this.#options.delayMs);
      this.#timer.unref?.();
    }
  }

  /** Publishes everything not yet published; resolves when done (or when it had to stop). */
  kick(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pending = 0;
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = this.#loop().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  /**
   * `pubsync sync --once`: publishes until the whole log is published. Rejects with the reason
   * when it could not be (publishing failed, or the connection is down); the retry timer a failure
   * leaves is cleared by stop().
   */
  async flush(): Promise<void> {
    await this.kick();
    const head = this.#options.store.lastOutboundSeq();
    if (this.position >= head) return;
    const why = this.#failure instanceof Error ? this.#failure.message : 'not connected';
    throw new SyncError(ErrorCodes.SYNC_INCOMPLETE, 'transient', `publishing stopped at log sequence ${this.position} of ${head}: ${why}`);
  }

  /** The last log sequence published to every node. */
  get position(): bigint {
    return BigInt(this.#options.store.kvGet(PUBLISHER_SCOPE, 'cursor') ?? '0');
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#retry);
    await this.#running;
  }

  async #loop(): Promise<void> {
    do {
      this.#again = false;
      try {
        while (!this.#stopped && this.#options.connection.online && (await this.#page())) {
          // next page
        }
        this.#backoff.reset();
        this.#failure = undefined;
      } catch (error) {
        this.#failure = error;
        if (this.#stopped) return;
        const wait = this.#backoff.next();
        this.#options.logger.warn({ err: error, retryInMs: wait }, 'publishing failed, retrying');
        clearTimeout(this.#retry);
        this.#retry = setTimeout(() => void this.kick(), wait);
        this.#retry.unref?.();
        return;
      }
    } while (this.#again && !this.#stopped);
  }

  /** Publishes one page of the log; false when there was nothing left. */
  async #page(): Promise<boolean> {
    const { store, nodes, origin, connection, service, logger } = this.#options;
    const cursor = this.position;
    const records = store.readOutbound(cursor, Math.max(1000, this.#limits.maxEntries * 4));
    const end = records.at(-1)?.seq;
    if (end === undefined) return false;
    for (const node of nodes) {
      const mine = records.filter((r) => r.nodes.includes(node));
      if (mine.length === 0) continue;
      const after = BigInt(store.kvGet(PUBLISHER_SCOPE, `node:${node}`) ?? '0');
      const fresh = mine.filter((r) => r.seq > after);
      for (const step of packFeeds(origin, after, fresh, this.#limits)) {
        if (step.kind === 'too-large') {
          const message = `entry of ${step.bytes} bytes exceeds the ${this.#limits.maxItemBytes ?? this.#limits.maxBytes}-byte item limit of node ${node}`;
          store.addDeadLetter({
            where: 'transport',
            entryId: step.record.entryId,
            payload: step.record.payload,
            code: ErrorCodes.TRANSPORT_TOO_LARGE,
            message,
            details: { node, seq: String(step.record.seq) },
          });
          logger.warn({ entryId: step.record.entryId, node, bytes: step.bytes }, 'entry too large to publish, dead-lettered');
          continue;
        }
        const { feed } = step;
        await publish(connection, service, node, `${origin.replica}-${feed.firstSeq}-${feed.lastSeq}`, feed.xml);
        store.kvPut(PUBLISHER_SCOPE, `node:${node}`, String(feed.lastSeq));
        this.published += feed.count;
        logger.debug({ node, first: String(feed.firstSeq), last: String(feed.lastSeq), entries: feed.count }, 'published');
      }
    }
    store.kvPut(PUBLISHER_SCOPE, 'cursor', String(end));
    return true;
  }
}
