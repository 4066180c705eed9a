import { inject, injectable } from 'tsyringe';
import type { LoadedConfig } from '../config/index.js';
import type { SinkInstanceConfig } from '../config/schema.js';
import { serializeEntry, type CsnClock } from '../format/index.js';
import type { Batch, Entry } from '../format/model.js';
import type { AdminService } from '../admin/admin-service.js';
import type { AdminTarget } from '../admin/admin-target.js';
import type { Logger } from '../logging/logger.js';
import { ErrorCodes, SyncError } from '../errors/index.js';
import { Applier, type ApplierOptions, type ApplyReport } from '../pipeline/applier.js';
import { deferredResolver } from '../pipeline/attachment-resolver.js';
import { Capture, type CapturedEntry } from '../pipeline/capture.js';
import { InboundChannel } from '../pipeline/inbound-channel.js';
import { Router } from '../pipeline/router.js';
import { SinkLock } from '../pipeline/sink-lock.js';
import { SinkWrites } from '../pipeline/sink-writes.js';
import { runSource } from '../pipeline/source-runner.js';
import type { PluginHost, StopReport } from '../plugin-host/index.js';
import type { StateStore } from '../state/state-store.js';
import type { Transport } from '../transport/xmpp-transport.js';
import type { XsltTransform } from '../transform/index.js';
import {
  kAdminFactory,
  kConfig,
  kCsnClock,
  kLogger,
  kPluginHost,
  kStateStore,
  kTransformFactory,
  kTransportFactory,
  type AdminFactory,
  type TransformFactory,
  type TransportFactory,
} from './tokens.js';

/** Attachments up to this size travel inline in the entry. */
const INLINE_ATTACHMENT_BYTES = 64 * 1024;
/** A source that yields nothing for this long after its start has read what there was. */
const SOURCE_QUIET_MS = 2000;
/** How often the outbound log is compacted (peer acks arrive with catch-ups, between these). */
const TRIM_EVERY_MS = 60_000;
/** Compaction rounds per trim: each deletes a bounded number of records in its own transaction. */
const TRIM_ROUNDS = 10;
const TRIM_BATCH = 10_000;
const DAY_MS = 86_400_000;

export interface DaemonStartOptions {
  /** `pubsync sync --once`: sources stop once caught up (see runSource's untilCaughtUp); settle() follows. */
  readonly once?: { readonly sourceQuietMs: number };
}

/**
 * One running replica: the plugin instances, the outbound stage of every source and the inbound
 * channel of every subscription. start() brings them up in dependency order; stop() aborts the
 * sources, drains what is in flight, closes the plugins in reverse and closes the state store.
 */
@injectable()
export class Daemon implements AdminTarget {
  readonly #controller = new AbortController();
  readonly #channels = new Map<string, InboundChannel>();
  /** Per subscription with a transform: its applier without it, for retrying already transformed dead letters. */
  readonly #untransformed = new Map<string, Applier>();
  readonly #runners: Promise<void>[] = [];
  #fail: (error: unknown) => void = () => undefined;
  /** Resolves with the error when a part of the running daemon failed for good: stop it. */
  readonly failed: Promise<unknown> = new Promise((resolve) => {
    this.#fail = resolve;
  });
  readonly #captured = new Set<(entries: readonly CapturedEntry[], source: string) => void>();
  readonly #received = new Set<(subscription: string, batch: Batch) => void>();
  readonly #applied = new Set<(subscription: string, report: ApplyReport) => void>();
  readonly #transforms: XsltTransform[] = [];
  #transport: Transport | null = null;
  #trimmer: NodeJS.Timeout | undefined;
  #admin: AdminService | undefined;
  #started = false;

  constructor(
    @inject(kConfig) private readonly loaded: LoadedConfig,
    @inject(kLogger) private readonly logger: Logger,
    @inject(kStateStore) private readonly store: StateStore,
    @inject(kCsnClock) private readonly clock: CsnClock,
    @inject(kPluginHost) private readonly host: PluginHost,
    @inject(kTransportFactory) private readonly transportFactory: TransportFactory,
    @inject(kTransformFactory) private readonly transformFactory: TransformFactory,
    @inject(kAdminFactory) private readonly adminFactory: AdminFactory,
  ) {}

  /** The transport, once started (null without an xmpp section). */
  get transport(): Transport | null {
    return this.#transport;
  }

  /** start() completed and stop() has not begun. */
  get started(): boolean {
    return this.#started;
  }

  async start(options: DaemonStartOptions = {}): Promise<void> {
    const { config } = this.loaded;
    // Per linked source, an applier of its sink: it writes again what a peer write overtook.
    const reasserters = new Map<string, Applier>();
    const locks = new Map(config.sinks.map((sink) => [sink.name, new SinkLock()] as const));
    // A linked sink applies nothing before its source has read what the application holds (changes
    // made while the daemon was down): a peer's write decided without them would overwrite them
    // unseen and miss the key collisions they make.
    const sourceReady = new Map<string, () => void>();
    for (const sink of config.sinks) {
      if (sink.source === undefined) continue;
      const ready = new Promise<void>((resolve) => {
        sourceReady.set(sink.source as string, resolve);
        this.#controller.signal.addEventListener('abort', () => resolve(), { once: true });
      });
      locks.get(sink.name)?.holdUntil(ready);
    }
    // First, so that /healthz and /readyz answer while the rest connects and catches up.
    this.#admin = this.adminFactory(this);
    await this.#admin.start();
    await this.host.start();
    // One gate per application whose sink names its source: the source commits after the writes.
    const gates = new Map(
      config.sinks.flatMap((sink) => {
        if (sink.source === undefined) return [];
        const source = this.host.sources.find((s) => s.name === sink.source);
        return [[sink.source, new SinkWrites(this.store, sink.source, { echoes: source?.skipsSinkWrites !== true })] as const];
      }),
    );
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
      const applierOptions: ApplierOptions = {
        subscription: subscription.name,
        sinkName: subscription.sink,
        sink,
        ...linkedSourceOf(config.sinks, subscription.sink, gates),
        ...(locks.has(subscription.sink) ? { lock: locks.get(subscription.sink) } : {}),
        collisions: config.replication.collisions,
        store: this.store,
        serialize: serializeEntry,
        logger,
        attachments: deferredResolver(
          () => this.#transport?.attachments,
          () => new SyncError(ErrorCodes.ATTACHMENT_REFUSED, 'record', 'no XMPP transport to fetch attachments by reference with'),
        ),
      };
      const applier = new Applier(transform ? { ...applierOptions, transform } : applierOptions);
      // A dead letter of the sink or attachment stage holds the entry as transformed: its retry skips the transform.
      if (transform) this.#untransformed.set(subscription.name, new Applier(applierOptions));
      const linked = linkedSourceOf(config.sinks, subscription.sink, gates).linkedSource;
      if (linked !== undefined && !reasserters.has(linked)) reasserters.set(linked, applier);
      const channel = new InboundChannel({
        subscription: subscription.name,
        applier,
        store: this.store,
        serialize: serializeEntry,
        logger,
        onApplied: (report) => this.#applied.forEach((listener) => listener(subscription.name, report)),
      });
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
      linkedSinks: new Map(config.sinks.flatMap((sink) => (sink.source === undefined ? [] : [[sink.source, sink.name] as const]))),
      writes: gates,
      logger: this.logger.child({ component: 'capture' }),
    });
    // Connected before the sources start: a backlog to capture must not delay (or time out) the
    // connection, and catching up with the peers first applies their changes before ours are read.
    this.#transport = this.transportFactory((subscription, batch) => this.receive(subscription, batch, this.#controller.signal));
    if (this.#transport) {
      const transport = this.#transport;
      this.onCaptured((entries) => transport.captured(entries.length));
      await transport.start();
    }
    for (const source of this.host.sources) {
      const writes = gates.get(source.name);
      const reassert = reasserters.get(source.name);
      const ready = sourceReady.get(source.name);
      const runner = runSource({
        name: source.name,
        ...(writes ? { writes } : {}),
        ...(reassert ? { reassert: (overtaken) => reassert.reassert(overtaken, this.#controller.signal) } : {}),
        source,
        capture,
        store: this.store,
        logger: this.logger.child({ component: 'source-runner', source: source.name }),
        signal: this.#controller.signal,
        onCaptured: (entries) => this.#captured.forEach((listener) => listener(entries, source.name)),
        ...(options.once ? { untilCaughtUp: { quietMs: options.once.sourceQuietMs } } : {}),
        ...(ready ? { onCaughtUp: { quietMs: SOURCE_QUIET_MS, reached: ready } } : {}),
      });
      // Once: a source failure ends the sync, and settle() reports it. Otherwise a runner only
      // ends in failure when the state store failed (a full disk): the daemon must stop.
      runner.catch((error: unknown) => (options.once ? undefined : this.#fail(error)));
      this.#runners.push(runner);
    }
    // A sink linked to a source that is not running waits for nothing.
    for (const [name, ready] of sourceReady) if (!this.host.sources.some((source) => source.name === name)) ready();
    this.#trimmer = setInterval(() => this.trimLog(), TRIM_EVERY_MS);
    this.#trimmer.unref?.();
    this.#started = true;
    this.#admin.started();
    this.logger.info({ sources: this.host.sources.length, subscriptions: this.#channels.size }, 'pubsync ready');
  }

  /**
   * `pubsync sync --once`, after start({ once }): waits until every source is caught up, publishes
   * the whole log, catches every subscription up and applies what arrived. Rejects naming what
   * failed; stop() follows either way.
   */
  async settle(): Promise<void> {
    const failed = (await Promise.allSettled(this.#runners)).flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    if (failed.length > 0) {
      const reasons = failed.map((reason) => (reason instanceof Error ? reason.message : String(reason)));
      throw new SyncError(ErrorCodes.SYNC_INCOMPLETE, 'transient', `a source failed: ${reasons.join('; ')}`);
    }
    await this.#transport?.settle?.();
    await Promise.all([...this.#channels.values()].map((channel) => channel.drain()));
  }

  /** Hands a batch a peer published to its subscription (the transport calls this). */
  receive(subscription: string, batch: Batch, signal?: AbortSignal): Promise<void> {
    const channel = this.#channels.get(subscription);
    if (!channel) return Promise.reject(new Error(`no subscription named ${subscription}`));
    this.#received.forEach((listener) => listener(subscription, batch));
    // A local change made after this one must sort after it (the subscriber already refused CSNs
    // too far ahead, so observing cannot drag the clock).
    for (const entry of batch.entries) {
      try {
        this.clock.observe(entry.csn);
      } catch {
        // Beyond the skew the clock accepts: the entry keeps its CSN, the clock its time.
      }
    }
    return channel.receive(batch, signal);
  }

  /** Batches waiting in a subscription's inbound queue. */
  inboundDepth(subscription: string): number | undefined {
    return this.#channels.get(subscription)?.depth;
  }

  /** Applies entries (a dead letter's) through the subscription's inbound path, in turn with its queue. */
  retryEntries(subscription: string, entries: readonly Entry[], transformed = false): Promise<ApplyReport> | undefined {
    const applier = transformed ? this.#untransformed.get(subscription) : undefined;
    return this.#channels.get(subscription)?.retry(entries, this.#controller.signal, applier);
  }

  /** Called for every batch handed to a subscription, before it is queued. */
  onReceived(listener: (subscription: string, batch: Batch) => void): () => void {
    this.#received.add(listener);
    return () => this.#received.delete(listener);
  }

  /** Called with the report of every batch a subscription applied. */
  onApplied(listener: (subscription: string, report: ApplyReport) => void): () => void {
    this.#applied.add(listener);
    return () => this.#applied.delete(listener);
  }

  /** Called after every committed source batch that produced entries (the publisher listens). */
  onCaptured(listener: (entries: readonly CapturedEntry[], source: string) => void): () => void {
    this.#captured.add(listener);
    return () => this.#captured.delete(listener);
  }

  /**
   * Purges tombstones: in the log once every member of our nodes acknowledged them (or after
   * replication.tombstoneRetentionDays), the memory of applied and captured deletes after the
   * retention (until then a late update of a deleted object is refused). Returns how many.
   */
  purgeTombstones(peers: readonly string[], now: number = Date.now()): number {
    const olderThan = now - this.loaded.config.replication.tombstoneRetentionDays * DAY_MS;
    let purged = 0;
    for (let round = 0; round < TRIM_ROUNDS; round++) {
      const count = this.store.purgeLogTombstones(peers, olderThan, TRIM_BATCH);
      purged += count;
      if (count < TRIM_BATCH) break;
    }
    purged += this.store.purgeTombstones(olderThan);
    if (purged > 0) this.logger.info({ purged, pending: this.store.countTombstones() }, 'tombstones purged');
    return purged;
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
      this.purgeTombstones(peers);
    } catch (error) {
      this.logger.error({ err: error }, 'compacting the outbound log failed; the next round retries');
    }
    return deleted;
  }

  async stop(): Promise<StopReport> {
    this.#started = false;
    // The CLI reads the state database from here on.
    await this.#admin?.stop();
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

/** The source a sink names as reading what it writes (the same application), as Applier options. */
function linkedSourceOf(
  sinks: readonly SinkInstanceConfig[],
  sinkName: string,
  gates: ReadonlyMap<string, SinkWrites>,
): { linkedSource?: string; writes?: SinkWrites } {
  const source = sinks.find((sink) => sink.name === sinkName)?.source;
  const writes = source === undefined ? undefined : gates.get(source);
  return source === undefined ? {} : { linkedSource: source, ...(writes ? { writes } : {}) };
}
