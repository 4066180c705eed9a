import type { Logger } from 'pino';
import type { Config, XmppConfig } from '../config/schema.js';
import type { Batch } from '../format/model.js';
import type { StateStore } from '../state/state-store.js';
import type { AttachmentResolver } from '../pipeline/attachment-resolver.js';
import type { BackoffOptions } from '../pipeline/backoff.js';
import { AttachmentFetcher } from './attachment-fetcher.js';
import { serveAttachments, type ReadAttachment } from './attachment-service.js';
import { serveCatchUp, type CatchUpProgress } from './catch-up.js';
import { ControlRoom } from './control-room.js';
import { ENVELOPE_BYTES } from './feed-packer.js';
import { Publisher } from './publisher.js';
import { ensureNodes } from './pubsub-nodes.js';
import { Subscriber } from './subscriber.js';
import { XmppConnection } from './xmpp-connection.js';

/** Attachments by reference above this size are neither served nor fetched. */
export const MAX_ATTACHMENT_BYTES = 64 * 1024 * 1024;

/** How often the control-room presence is refreshed when our state changed. */
const ANNOUNCE_MS = 1000;

/** What the daemon needs of a transport. */
export interface Transport {
  start(): Promise<void>;
  /** Entries were committed to the outbound log. */
  captured(count: number): void;
  stop(): Promise<void>;
  /** Fetches attachments that came by reference from their origin. */
  readonly attachments?: AttachmentResolver;
  /** `pubsync sync --once`: publishes the whole log, then catches every subscription up; rejects naming what failed. */
  settle?(): Promise<void>;
}

export interface XmppTransportOptions {
  readonly config: Readonly<Config> & { readonly xmpp: XmppConfig };
  readonly store: StateStore;
  readonly logger: Logger;
  readonly receive: (subscription: string, batch: Batch) => Promise<void>;
  /** Reads an attachment back from the source that captured it, for peers that fetch it by reference. */
  readonly readAttachment?: ReadAttachment;
  readonly maxAttachmentBytes?: number;
  /** Told after every catch-up page (progress bars). */
  readonly onCatchUpProgress?: (progress: CatchUpProgress) => void;
  /** Retry delays of the subscriber (defaults: up to 30 s). */
  readonly subscriberRetry?: BackoffOptions;
}

/**
 * The XMPP side of one daemon: on every (re)connection it ensures our nodes and their
 * whitelists, subscribes and catches up, then publishes what the log holds beyond what was
 * published. Everything it needs to resume is in the state store.
 */
export class XmppTransport implements Transport {
  readonly connection: XmppConnection;
  readonly publisher: Publisher;
  readonly subscriber: Subscriber;
  readonly controlRoom: ControlRoom | undefined;
  readonly attachments: AttachmentFetcher;
  readonly #options: XmppTransportOptions;
  readonly #serving = new AbortController();
  #announcer: NodeJS.Timeout | undefined;

  constructor(options: XmppTransportOptions) {
    this.#options = options;
    const { config, store, logger } = options;
    const { xmpp } = config;
    const origin = { jid: xmpp.jid, replica: config.replica.id };
    const itemBytes = xmpp.stanzaLimit - ENVELOPE_BYTES;
    this.connection = new XmppConnection({
      service: xmpp.service,
      domain: xmpp.domain,
      jid: xmpp.jid,
      password: xmpp.password,
      resource: xmpp.resource,
      tls: xmpp.tls,
      logger: logger.child({ component: 'xmpp' }),
    });
    this.publisher = new Publisher({
      connection: this.connection,
      store,
      service: xmpp.pubsubService,
      nodes: config.nodes.map((n) => n.name),
      origin,
      logger: logger.child({ component: 'publisher' }),
      maxEntries: xmpp.publish.maxEntries,
      maxBytes: Math.min(xmpp.publish.maxBytes, itemBytes),
      maxItemBytes: itemBytes,
      delayMs: xmpp.publish.delayMs,
    });
    this.subscriber = new Subscriber({
      connection: this.connection,
      store,
      subscriptions: config.subscriptions.map((s) => ({
        name: s.name,
        service: s.service ?? xmpp.pubsubService,
        node: s.node,
        publisherResource: s.publisherResource,
        ...(s.publisher ? { publisher: s.publisher } : {}),
      })),
      logger: logger.child({ component: 'subscriber' }),
      pageEntries: xmpp.catchUpPageEntries,
      receive: options.receive,
      isReadOnly: (jid) => this.controlRoom?.isReadOnly(jid) ?? false,
      roleKnown: (jid) => this.controlRoom === undefined || this.controlRoom.roleOf(jid) !== undefined,
      ...(options.onCatchUpProgress ? { onCatchUpProgress: options.onCatchUpProgress } : {}),
      ...(options.subscriberRetry ? { retry: options.subscriberRetry } : {}),
    });
    if (xmpp.room) {
      this.controlRoom = new ControlRoom({
        connection: this.connection,
        room: xmpp.room,
        replica: config.replica.id,
        logger: logger.child({ component: 'control-room' }),
        describe: () => ({
          state: this.subscriber.catchingUp ? 'catching-up' : 'online',
          head: store.lastOutboundSeq(),
          received: this.subscriber.positions(),
        }),
        onPeerAhead: (jid, head) => this.subscriber.peerAhead(jid, head),
      });
    }
    serveCatchUp(this.connection, {
      store,
      nodes: config.nodes,
      origin,
      logger: logger.child({ component: 'catch-up' }),
      pageEntries: xmpp.catchUpPageEntries,
      maxBytes: itemBytes,
      onPeerAsked: (peer) => this.subscriber.peerOnline(peer),
    });
    const maxAttachmentBytes = options.maxAttachmentBytes ?? MAX_ATTACHMENT_BYTES;
    serveAttachments(this.connection, {
      store,
      nodes: config.nodes,
      read: options.readAttachment ?? (() => Promise.resolve(undefined)),
      maxBytes: maxAttachmentBytes,
      stanzaLimit: xmpp.stanzaLimit,
      logger: logger.child({ component: 'attachments' }),
      signal: this.#serving.signal,
    });
    this.attachments = new AttachmentFetcher({ connection: this.connection, maxBytes: maxAttachmentBytes, logger: logger.child({ component: 'attachments' }) });
    this.connection.onOnline(() => this.#online());
  }

  async start(): Promise<void> {
    await this.connection.start();
  }

  captured(count: number): void {
    this.publisher.captured(count);
  }

  async settle(): Promise<void> {
    await this.publisher.flush();
    await this.subscriber.catchUpAll();
  }

  async stop(): Promise<void> {
    clearInterval(this.#announcer);
    this.#serving.abort();
    this.subscriber.stop();
    await this.publisher.stop();
    await this.connection.stop();
  }

  async #online(): Promise<void> {
    const { config, logger } = this.#options;
    // Nodes first: after a server restart that lost them, publishing would fail until they exist.
    try {
      await ensureNodes(this.connection, config.xmpp.pubsubService, config.nodes, logger.child({ component: 'nodes' }));
    } catch (error) {
      logger.error({ err: error }, 'ensuring the pubsub nodes failed; publishing will retry');
    }
    if (this.controlRoom) {
      const room = this.controlRoom;
      await room.join();
      // Presence carries our state and positions: refresh it when they change.
      clearInterval(this.#announcer);
      this.#announcer = setInterval(() => void room.announce().catch(() => undefined), ANNOUNCE_MS);
      this.#announcer.unref?.();
    }
    await this.subscriber.online();
    void this.publisher.kick();
  }
}
