import { inject, injectable } from 'tsyringe';
import type { LoadedConfig } from '../config/index.js';
import { serializeEntry, type CsnClock } from '../format/index.js';
import type { Batch } from '../format/model.js';
import type { Logger } from '../logging/logger.js';
import { ErrorCodes, SyncError } from '../errors/index.js';
import { Applier } from '../pipeline/applier.js';
import { deferredResolver } from '../pipeline/attachment-resolver.js';
import { Capture, type CapturedEntry } from '../pipeline/capture.js';
import { InboundChannel } from '../pipeline/inbound-channel.js';
import { Router } from '../pipeline/router.js';
import { runSource } from '../pipeline/source-runner.js';
import type { PluginHost, StopReport } from '../plugin-host/index.js';
import type { StateStore } from '../state/state-store.js';
import type { Transport } from '../transport/xmpp-transport.js';
import type { XsltTransform } from '../transform/index.js';
import {
  kConfig,
  kCsnClock,
  kLogger,
  kPluginHost,
  kStateStore,
  kTransformFactory,
  kTransportFactory,
  type TransformFactory,
  type TransportFactory,
} from './tokens.js';

/** Attachments up to this size travel inline in the entry. */
const INLINE_ATTACHMENT_BYTES = 64 * 1024;
/** How often the outbound log is compacted (peer acks arrive with catch-ups, between these). */
const TRIM_EVERY_MS = 60_000;
/** Compaction rounds per trim: each deletes a bounded number of records in its own transaction. */
const TRIM_ROUNDS = 10;
const TRIM_BATCH = 10_000;
const DAY_MS = 86_400_000;

/**
 * One running replica: the plugin instances, the outbound stage of every source and the inbound
 * channel of every subscription. start() brings them up in dependency order; stop() aborts the
 * sources, drains what is in flight, closes the plugins in reverse and closes the state store.
 */
@injectable()
export class Daemon {
  readonly #controller = new AbortController();
  readonly #channels = new Map<string, InboundChannel>();
  readonly #runners: Promise<void>[] = [];
  readonly #captured = new Set<(entries: readonly CapturedEntry[]) => void>();
  readonly #transforms: XsltTransform[] = [];
  #transport: Transport | null = null;
  #trimmer: NodeJS.Timeout | undefined;

  constructor(
    @inject(kConfig) private readonly loaded: LoadedConfig,
    @inject(kLogger) private readonly logger: Logger,
    @inject(kStateStore) private readonly store: StateStore,
    @inject(kCsnClock) private readonly clock: CsnClock,
    @inject(kPluginHost) private readonly host: PluginHost,
    @inject(kTransportFactory) private readonly transportFactory: TransportFactory,
    @inject(kTransformFactory) private readonly transformFactory: TransformFactory,
  ) {}

  /** The transport, once started (null without an xmpp section). */
  get transport(): Transport | null {
    return this.#transport;
  }

  async start(): Promise<void> {
    const { config } = this.loaded;
    await this.host.start();
    for (const subscription of config.subscriptions) {
      const sink = this.host.sink(subscription.sink);
      if (!sink) throw new Error(`subscription ${subscription.name}: sink ${subscription.sink} is not running`);
      const logger = this.logger.child({ component: 'inbound', subscription: subscription.name });
      // Compiled before anything flows: a broken stylesheet stops the start with a config error.
      const transform = this.transformFactory(subscription);
      if (transform) {
        this.#transforms.push(transform);
        await transform.start();
      }
      const applier = new Applier({
        subscription: subscription.name,
        sinkName: subscription.sink,
        sink,
        ...(transform ? { transform } : {}),
        store: this.store,
        serialize: serializeEntry,
        logger,
        attachments: deferredResolver(
          () => this.#transport?.attachments,
          () => new SyncError(ErrorCodes.ATTACHMENT_REFUSED, 'record', 'no XMPP transport to fetch attachments by reference with'),
        ),
      });
      const channel = new InboundChannel({ subscription: subscription.name, applier, store: this.store, serialize: serializeEntry, logger });
      channel.start(this.#controller.signal);
      this.#channels.set(subscription.name, channel);
    }
    const capture = new Capture({
      store: this.store,
      clock: this.clock,
      router: new Router(config.nodes),
      origin: { jid: config.xmpp?.jid ?? `replica-${config.replica.id}@local`, replica: config.replica.id },
      serialize: serializeEntry,
      inlineAttachmentBytes: INLINE_ATTACHMENT_BYTES,
      ...(config.xmpp ? { attachmentService: `${config.xmpp.jid}/${config.xmpp.resource}` } : {}),
      logger: this.logger.child({ component: 'capture' }),
    });
    for (const source of this.host.sources) {
      this.#runners.push(
        runSource({
          name: source.name,
          source,
          capture,
          store: this.store,
          logger: this.logger.child({ component: 'source-runner', source: source.name }),
          signal: this.#controller.signal,
          onCaptured: (entries) => this.#captured.forEach((listener) => listener(entries)),
        }),
      );
    }
    this.#transport = this.transportFactory((subscription, batch) => this.receive(subscription, batch, this.#controller.signal));
    if (this.#transport) {
      const transport = this.#transport;
      this.onCaptured((entries) => transport.captured(entries.length));
      await transport.start();
    }
    this.#trimmer = setInterval(() => this.trimLog(), TRIM_EVERY_MS);
    this.#trimmer.unref?.();
    this.logger.info({ sources: this.host.sources.length, subscriptions: this.#channels.size }, 'pubsync ready');
  }

  /** Hands a batch a peer published to its subscription (the transport calls this). */
  receive(subscription: string, batch: Batch, signal?: AbortSignal): Promise<void> {
    const channel = this.#channels.get(subscription);
    if (!channel) return Promise.reject(new Error(`no subscription named ${subscription}`));
    return channel.receive(batch, signal);
  }

  /** Called after every committed source batch that produced entries (the publisher listens). */
  onCaptured(listener: (entries: readonly CapturedEntry[]) => void): () => void {
    this.#captured.add(listener);
    return () => this.#captured.delete(listener);
  }

  /**
   * Compacts the outbound log: a record superseded by a later one of the same entry goes once every
   * member of our nodes acknowledged it (through its catch-up queries) or the retention passed.
   * Each entry's newest record stays, since snapshots for new or far-behind subscribers are made
   * of them. Returns how many records were deleted.
   */
  trimLog(retentionMs: number = this.loaded.config.state.retentionDays * DAY_MS): number {
    const peers = [...new Set(this.loaded.config.nodes.flatMap((node) => node.members))];
    const olderThan = Date.now() - retentionMs;
    let deleted = 0;
    try {
      for (let round = 0; round < TRIM_ROUNDS; round++) {
        const count = this.store.compactOutbound(peers, olderThan, TRIM_BATCH);
        deleted += count;
        if (count < TRIM_BATCH) break;
      }
      if (deleted > 0) this.logger.info({ deleted, depth: this.store.outboundDepth() }, 'outbound log compacted');
    } catch (error) {
      this.logger.error({ err: error }, 'compacting the outbound log failed; the next round retries');
    }
    return deleted;
  }

  async stop(): Promise<StopReport> {
    clearInterval(this.#trimmer);
    this.#controller.abort();
    await Promise.allSettled(this.#runners);
    await this.#transport?.stop();
    await Promise.allSettled([...this.#channels.values()].map((channel) => channel.drain()));
    await Promise.allSettled(this.#transforms.map((transform) => transform.close()));
    const report = await this.host.stop();
    this.store.close();
    return report;
  }
}
