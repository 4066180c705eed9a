import type { Logger } from 'pino';
import { ErrorCodes } from '../errors/codes.js';
import { isSyncError, SyncError } from '../errors/sync-error.js';
import { DEFAULT_MAX_FORWARD_SKEW_MS, parseFeed, serializeEntry } from '../format/index.js';
import type { Batch } from '../format/model.js';
import { Backoff, type BackoffOptions } from '../pipeline/backoff.js';
import type { StateStore } from '../state/state-store.js';
import { pullFromOrigin, type CatchUpProgress } from './catch-up.js';
import { csnTooFarAhead } from './csn-horizon.js';
import { bare, NS_PUBSUB_EVENT, subscribe } from './pubsub-nodes.js';
import type { Stanza, XmppConnection } from './xmpp-connection.js';

export interface SubscriptionTarget {
  readonly name: string;
  readonly service: string;
  readonly node: string;
  /** Bare JID of the origin daemon; without it there is no publisher check and no catch-up. */
  readonly publisher?: string;
  /** The origin daemon's resource (catch-up IQs go to its full JID). */
  readonly publisherResource: string;
}

export interface SubscriberOptions {
  readonly connection: XmppConnection;
  readonly store: StateStore;
  readonly subscriptions: readonly SubscriptionTarget[];
  readonly logger: Logger;
  readonly pageEntries: number;
  /** Hands a batch to the daemon; resolves once queued (it waits when the queue is full). */
  readonly receive: (subscription: string, batch: Batch) => Promise<void>;
  /** Whether a peer may not write (a read-only role in the control room). */
  readonly isReadOnly?: (jid: string) => boolean;
  /** Whether a peer's role is known (with a control room: once the room showed it); else its entries wait. */
  readonly roleKnown?: (jid: string) => boolean;
  /** Told after every catch-up page (progress bars, `pubsync sync`). */
  readonly onCatchUpProgress?: (progress: CatchUpProgress) => void;
  /** Retry delays of a refused subscribe and a failed catch-up (defaults: up to 30 s). */
  readonly retry?: BackoffOptions;
}

/** Live batches waiting behind one subscription's delivery before we fall back to a catch-up. */
const MAX_QUEUED = 64;

interface Track {
  readonly target: SubscriptionTarget;
  /** The last origin sequence handed to the daemon. */
  received: bigint;
  /** Highest sequence seen live while a catch-up ran (it needs another round if beyond). */
  seen: bigint;
  catching: boolean;
  /** A catch-up completed since the last (re)connection. */
  synced: boolean;
  queued: number;
  chain: Promise<void>;
  readonly backoff: Backoff;
  retry: NodeJS.Timeout | undefined;
  readonly subscribeBackoff: Backoff;
  resubscribe: NodeJS.Timeout | undefined;
}

/**
 * Receives our subscriptions' notifications, checks where each came from (service, node,
 * publisher, role) and hands batches on in origin order. A batch whose range starts after the
 * last one received shows a gap: we pull the missing range from the origin at once. The same pull
 * runs on start and on every reconnect, since notifications sent while we were away are lost.
 */
export class Subscriber {
  readonly #options: SubscriberOptions;
  readonly #tracks: Track[];
  /** Why each subscription's last catch-up failed, until one succeeds (for catchUpAll). */
  readonly #failures = new Map<string, unknown>();
  #stopped = false;

  constructor(options: SubscriberOptions) {
    this.#options = options;
    this.#tracks = options.subscriptions.map((target) => ({
      target,
      received: target.publisher ? options.store.getHighWater(target.name, target.publisher) : 0n,
      seen: 0n,
      catching: false,
      synced: false,
      queued: 0,
      chain: Promise.resolve(),
      backoff: new Backoff({ initialMs: 500, maxMs: 30_000, ...options.retry }),
      retry: undefined,
      subscribeBackoff: new Backoff({ initialMs: 250, maxMs: 30_000, ...options.retry }),
      resubscribe: undefined,
    }));
    options.connection.onStanza((stanza) => this.#onStanza(stanza));
  }

  /** After each (re)connection: subscribe, then catch up from each origin. */
  async online(): Promise<void> {
    for (const track of this.#tracks) track.synced = false;
    for (const track of this.#tracks) {
      await this.#subscribe(track);
      // Catch-up asks the origin itself: it works even while the node is not there (yet).
      void this.catchUp(track.target.name);
    }
  }

  async #subscribe(track: Track): Promise<void> {
    const { target } = track;
    if (this.#stopped || !this.#options.connection.online) return;
    try {
      await subscribe(this.#options.connection, target.service, target.node);
    } catch (error) {
      // The node may not exist yet (its owner is reconnecting too) or we are off its whitelist.
      const wait = track.subscribeBackoff.next();
      this.#options.logger.error({ err: error, subscription: target.name, node: target.node, retryInMs: wait }, 'subscribe refused');
      clearTimeout(track.resubscribe);
      track.resubscribe = setTimeout(() => void this.#subscribe(track), wait);
      track.resubscribe.unref?.();
      return;
    }
    const retried = track.subscribeBackoff.attempts > 0;
    track.subscribeBackoff.reset();
    // What the origin published between our last catch-up and this late subscription reached
    // nobody (notifications are not stored): pull it now rather than at the next reconnect.
    if (retried) void this.catchUp(target.name);
  }

  /** Pulls what the origin has beyond what we received (on start, reconnect, gap, or when told we are behind). */
  catchUp(subscription: string): Promise<void> {
    const track = this.#tracks.find((t) => t.target.name === subscription);
    if (!track?.target.publisher) return Promise.resolve();
    track.chain = track.chain.then(() => this.#catchUp(track));
    return track.chain;
  }

  /**
   * `pubsync sync --once`: one catch-up round for every subscription with an origin, each pulling
   * page by page until the origin reports nothing more. Resolves once all are current; rejects
   * naming every subscription whose catch-up failed (the retry timer it left is cleared by stop()).
   */
  async catchUpAll(): Promise<void> {
    const { connection } = this.#options;
    if (!connection.online) throw new SyncError(ErrorCodes.XMPP_DISCONNECTED, 'not-connected', 'not connected: no subscription could catch up');
    await Promise.all(this.#tracks.map((t) => this.catchUp(t.target.name)));
    const failed = this.#tracks.filter((t) => t.target.publisher && (this.#failures.has(t.target.name) || !connection.online));
    if (failed.length === 0) return;
    const reasons = failed.map((t) => {
      const failure = this.#failures.get(t.target.name);
      const why = failure instanceof Error ? failure.message : 'the connection went down';
      return `${t.target.name} (node ${t.target.node} from ${t.target.publisher}/${t.target.publisherResource}): ${why}`;
    });
    throw new SyncError(ErrorCodes.SYNC_INCOMPLETE, 'transient', `catch-up failed for ${reasons.join('; ')}`);
  }

  /** Resolves when nothing is queued or being pulled for any subscription. */
  async idle(): Promise<void> {
    await Promise.all(this.#tracks.map((t) => t.chain));
  }

  position(subscription: string): bigint | undefined {
    return this.#tracks.find((t) => t.target.name === subscription)?.received;
  }

  stop(): void {
    this.#stopped = true;
    for (const track of this.#tracks) {
      clearTimeout(track.retry);
      clearTimeout(track.resubscribe);
    }
  }

  #onStanza(stanza: Stanza): void {
    if (this.#stopped || !stanza.is('message')) return;
    const event = stanza.getChild('event', NS_PUBSUB_EVENT);
    const items = event?.getChild('items');
    if (!items) return;
    const from = String(stanza.attrs.from ?? '');
    const node = String(items.attrs.node ?? '');
    const tracks = this.#tracks.filter((t) => t.target.service === from && t.target.node === node);
    if (tracks.length === 0) {
      this.#deadLetter('transport', undefined, stanza.toString(), `notification from ${from} for node ${node} matches no subscription (service and node are checked)`);
      return;
    }
    for (const item of items.getChildren('item')) {
      const payload = item.getChildElements()[0];
      if (!payload) continue;
      const text = payload.toString();
      for (const track of tracks) this.#onItem(track, item, text);
    }
  }

  #onItem(track: Track, item: Stanza, text: string): void {
    const { target } = track;
    const where = `subscription:${target.name}`;
    let batch: Batch;
    try {
      batch = parseFeed(text);
    } catch (error) {
      const code = isSyncError(error) ? error.code : ErrorCodes.FORMAT_MALFORMED;
      this.#deadLetter(where, code, text, `item ${String(item.attrs.id)} of node ${target.node}: ${(error as Error).message}`);
      return;
    }
    const publisher = item.attrs.publisher === undefined ? undefined : bare(String(item.attrs.publisher));
    if (target.publisher && (batch.origin.jid !== target.publisher || (publisher !== undefined && publisher !== target.publisher))) {
      this.#deadLetter(where, ErrorCodes.TRANSPORT_UNTRUSTED, text, `item on node ${target.node} from ${publisher ?? batch.origin.jid}, but only ${target.publisher} publishes there`);
      return;
    }
    this.#onLive(track, batch);
  }

  #onLive(track: Track, batch: Batch): void {
    if (track.catching || track.queued >= MAX_QUEUED) {
      if (batch.lastSeq > track.seen) track.seen = batch.lastSeq;
      if (!track.catching) void this.catchUp(track.target.name);
      return;
    }
    track.queued++;
    track.chain = track.chain
      .then(() => this.#deliverLive(track, batch))
      .catch((error: unknown) => this.#options.logger.warn({ err: error, subscription: track.target.name }, 'delivering a batch failed'))
      .finally(() => {
        track.queued--;
      });
  }

  async #deliverLive(track: Track, batch: Batch): Promise<void> {
    if (batch.lastSeq <= track.received && track.target.publisher) return;
    if (track.target.publisher && batch.firstSeq > track.received + 1n) {
      this.#options.logger.info(
        { subscription: track.target.name, expected: String(track.received + 1n), got: String(batch.firstSeq) },
        'gap in the origin sequence, pulling the missing range',
      );
      track.seen = batch.lastSeq;
      await this.#catchUp(track);
      return;
    }
    await this.#hand(track, batch);
  }

  /** Hands a batch on in order, unless its origin is read-only now: then its entries are refused. */
  async #hand(track: Track, batch: Batch): Promise<void> {
    if (this.#options.roleKnown?.(batch.origin.jid) === false) {
      // It may be read-only: nothing of it is applied before the room says. Its presence in the
      // room (onPeerAhead) pulls again; until then catch-up retries with backoff.
      throw new SyncError(ErrorCodes.ROLE_UNKNOWN, 'transient', `${batch.origin.jid} has not been seen in the control room yet: its entries wait for its role`);
    }
    if (this.#options.isReadOnly?.(batch.origin.jid)) {
      const message = `${batch.origin.jid} has a read-only role in the control room: its entries are refused`;
      for (const entry of batch.entries) {
        this.#options.store.addDeadLetter({
          where: `subscription:${track.target.name}`,
          entryId: entry.id,
          payload: serializeEntry(entry),
          code: ErrorCodes.TRANSPORT_UNTRUSTED,
          message,
        });
      }
      this.#options.logger.warn({ subscription: track.target.name, origin: batch.origin.jid, entries: batch.entries.length }, message);
    } else {
      await this.#options.receive(track.target.name, this.#withoutFutureCsns(track, batch));
    }
    if (batch.lastSeq > track.received) track.received = batch.lastSeq;
  }

  /** Dead-letters the entries whose CSNs are too far ahead of our clock (see csn-horizon.ts). */
  #withoutFutureCsns(track: Track, batch: Batch): Batch {
    const now = Date.now();
    const kept = batch.entries.filter((entry) => {
      const ahead = csnTooFarAhead(entry, now);
      if (!ahead) return true;
      const message = `entry ${entry.id} from ${batch.origin.jid}: CSN ${ahead.csn} is ${ahead.aheadMs} ms ahead of the local clock (max forward skew ${DEFAULT_MAX_FORWARD_SKEW_MS} ms)`;
      this.#options.store.addDeadLetter({ where: `subscription:${track.target.name}`, entryId: entry.id, payload: serializeEntry(entry), code: ErrorCodes.CSN_SKEW, message });
      this.#options.logger.warn({ subscription: track.target.name, origin: batch.origin.jid, entry: entry.id, csn: ahead.csn }, 'entry refused: CSN too far in the future');
      return false;
    });
    return kept.length === batch.entries.length ? batch : { ...batch, entries: kept };
  }

  /** Whether any subscription is pulling from its origin. */
  get catchingUp(): boolean {
    return this.#tracks.some((t) => t.catching);
  }

  /** Whether every subscription with an origin completed a catch-up since the last (re)connection. */
  get caughtUp(): boolean {
    return this.#tracks.every((t) => !t.target.publisher || t.synced);
  }

  /** Each subscription's position and catch-up state, for status and metrics (read-only). */
  tracks(): { name: string; node: string; origin: string | undefined; received: bigint; catchingUp: boolean; caughtUp: boolean; queued: number }[] {
    return this.#tracks.map((t) => ({
      name: t.target.name,
      node: t.target.node,
      origin: t.target.publisher,
      received: t.received,
      catchingUp: t.catching,
      caughtUp: !t.target.publisher || t.synced,
      queued: t.queued,
    }));
  }

  /** Per origin JID, the last sequence received (the version vector for the control room). */
  positions(): Map<string, bigint> {
    const out = new Map<string, bigint>();
    for (const t of this.#tracks) {
      if (t.target.publisher && t.received > (out.get(t.target.publisher) ?? -1n)) out.set(t.target.publisher, t.received);
    }
    return out;
  }

  /**
   * A peer showed it is online (it asked us for a catch-up): what waits for a retry because it
   * was away, or because its node did not exist yet, is done now rather than when the timer
   * fires (up to 30 s later, and longer each time it was away when tried).
   */
  peerOnline(jid: string): void {
    if (this.#stopped || !this.#options.connection.online) return;
    for (const track of this.#tracks) {
      if (track.target.publisher !== jid) continue;
      if (track.subscribeBackoff.attempts > 0) {
        clearTimeout(track.resubscribe);
        void this.#subscribe(track);
      }
      if (this.#failures.has(track.target.name) && !track.catching) {
        clearTimeout(track.retry);
        void this.catchUp(track.target.name);
      }
    }
  }

  /** A peer says its log reaches `head`: pull if we are behind it. */
  peerAhead(jid: string, head: bigint): void {
    for (const t of this.#tracks) {
      if (t.target.publisher === jid && head > t.received && !t.catching && t.queued === 0) void this.catchUp(t.target.name);
    }
  }

  async #catchUp(track: Track): Promise<void> {
    const { target } = track;
    if (!target.publisher || this.#stopped || !this.#options.connection.online) return;
    track.catching = true;
    try {
      do {
        track.seen = 0n;
        // Nothing of this origin yet: a compacted snapshot (each object's latest state) rather
        // than its whole history; what follows is the ordinary catch-up from where it ended.
        const snapshot = track.received === 0n;
        const reached = await pullFromOrigin({
          connection: this.#options.connection,
          peer: `${target.publisher}/${target.publisherResource}`,
          node: target.node,
          after: track.received,
          snapshot,
          pageEntries: this.#options.pageEntries,
          logger: this.#options.logger.child({ subscription: target.name }),
          deliver: (batch) => this.#hand(track, batch),
          ...(this.#options.onCatchUpProgress ? { onProgress: this.#options.onCatchUpProgress } : {}),
        });
        if (reached > track.received) track.received = reached;
      } while (track.seen > track.received && !this.#stopped);
      track.synced = true;
      track.backoff.reset();
      this.#failures.delete(target.name);
    } catch (error) {
      this.#failures.set(target.name, error);
      const wait = track.backoff.next();
      this.#options.logger.warn({ err: error, subscription: target.name, retryInMs: wait }, 'catch-up failed, retrying');
      clearTimeout(track.retry);
      track.retry = setTimeout(() => void this.catchUp(target.name), wait);
      track.retry.unref?.();
    } finally {
      track.catching = false;
    }
  }

  #deadLetter(where: string, code: string | undefined, payload: string, message: string): void {
    this.#options.store.addDeadLetter({ where, payload, code: code ?? ErrorCodes.TRANSPORT_UNTRUSTED, message });
    this.#options.logger.warn({ where, reason: message }, 'notification dead-lettered');
  }
}
