import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { StateStore } from '../state/state-store.js';
import type { AdminTarget } from './admin-target.js';
import type { LiveStatus } from './live-status.js';

/**
 * The daemon's Prometheus metrics. Counters follow the daemon's events (captured, received,
 * applied); gauges are set from one reading of the live status and the state database per scrape,
 * so a scrape costs a few indexed counts and nothing is sampled in between.
 */
export class DaemonMetrics {
  readonly registry = new Registry();
  readonly #counter = <L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> =>
    new Counter({ name, help, labelNames, registers: [this.registry] });
  readonly #gauge = <L extends string>(name: string, help: string, labelNames: readonly L[] = []): Gauge<L> =>
    new Gauge({ name, help, labelNames, registers: [this.registry] });

  readonly captured = this.#counter('pubsync_changes_captured_total', 'entries a source captured into the outbound log', ['source']);
  readonly routed = this.#counter('pubsync_node_entries_total', 'captured entries routed to a node', ['node']);
  readonly published = this.#counter('pubsync_entries_published_total', 'entries published to their nodes since the start', []);
  readonly received = this.#counter('pubsync_entries_received_total', 'entries a subscription received from its origin', ['subscription', 'origin']);
  readonly applied = this.#counter('pubsync_entries_applied_total', 'entries a sink applied', ['subscription', 'sink']);
  readonly skipped = this.#counter('pubsync_entries_skipped_total', 'entries merged away (the sink already had them or newer)', ['subscription', 'sink']);
  readonly conflicted = this.#counter('pubsync_entries_conflicted_total', 'entries recorded as conflicts', ['subscription', 'sink']);
  readonly deadLettered = this.#counter('pubsync_entries_dead_lettered_total', 'entries a subscription dead-lettered', ['subscription', 'sink']);

  readonly ready = this.#gauge('pubsync_ready', '1 when started, online and caught up (what /readyz answers)');
  readonly connected = this.#gauge('pubsync_xmpp_connected', '1 while the XMPP stream is online');
  readonly outboundDepth = this.#gauge('pubsync_outbound_log_records', 'records in the outbound log');
  readonly outboundHead = this.#gauge('pubsync_outbound_last_seq', 'the last outbound log sequence');
  readonly unpublished = this.#gauge('pubsync_outbound_unpublished', 'outbound log records not yet published');
  readonly nodePublished = this.#gauge('pubsync_node_published_seq', 'the last log sequence published to the node', ['node']);
  readonly queueDepth = this.#gauge('pubsync_inbound_queue_depth', 'batches received and waiting to be applied', ['subscription']);
  readonly position = this.#gauge('pubsync_subscription_position', 'the last origin sequence received', ['subscription', 'origin']);
  readonly lag = this.#gauge('pubsync_subscription_lag', "origin log head minus position (only when the origin's head is known)", ['subscription', 'origin']);
  readonly catchingUp = this.#gauge('pubsync_catch_up_active', '1 while the subscription pulls from its origin', ['subscription']);
  readonly caughtUp = this.#gauge('pubsync_subscription_caught_up', '1 once a catch-up completed since the last connection', ['subscription']);
  readonly peerOnline = this.#gauge('pubsync_peer_online', '1 while the peer is in the control room', ['peer', 'role']);
  readonly peerLag = this.#gauge('pubsync_peer_lag', 'our log head minus what the peer said it received of it', ['peer']);
  readonly deadLetters = this.#gauge('pubsync_dead_letters', 'dead letters stored');
  readonly conflicts = this.#gauge('pubsync_conflicts', 'conflicts stored', ['kind']);
  readonly tombstones = this.#gauge('pubsync_tombstones_pending', 'tombstones kept until every peer has them');

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'pubsync_' });
  }

  /** Counts the daemon's events; returns the unsubscribe. */
  observe(target: AdminTarget, sinkOf: (subscription: string) => string): () => void {
    const off = [
      target.onCaptured((entries, source) => {
        this.captured.inc({ source }, entries.length);
        for (const { nodes } of entries) for (const node of nodes) this.routed.inc({ node });
      }),
      target.onReceived((subscription, batch) => {
        this.received.inc({ subscription, origin: batch.origin.jid }, batch.entries.length);
      }),
      target.onApplied((subscription, report) => {
        const labels = { subscription, sink: sinkOf(subscription) };
        this.applied.inc(labels, report.applied);
        this.skipped.inc(labels, report.skipped);
        this.conflicted.inc(labels, report.conflicts);
        this.deadLettered.inc(labels, report.deadLettered);
      }),
    ];
    return () => off.forEach((unsubscribe) => unsubscribe());
  }

  /** Sets the gauges from one reading, then renders the exposition text. */
  async render(live: LiveStatus, store: StateStore): Promise<string> {
    this.ready.set(live.ready ? 1 : 0);
    this.connected.set(live.xmpp?.connected ? 1 : 0);
    this.outboundDepth.set(store.outboundDepth());
    this.outboundHead.set(Number(live.outbound.lastSeq));
    this.unpublished.set(live.outbound.unpublished ?? 0);
    this.published.reset();
    this.published.inc(live.outbound.publishedSinceStart ?? 0);
    for (const gauge of [this.nodePublished, this.queueDepth, this.position, this.lag, this.catchingUp, this.caughtUp, this.peerOnline, this.peerLag]) gauge.reset();
    for (const node of live.nodes) this.nodePublished.set({ node: node.name }, Number(node.publishedSeq));
    for (const s of live.subscriptions) {
      this.queueDepth.set({ subscription: s.name }, s.queueDepth);
      this.catchingUp.set({ subscription: s.name }, s.catchingUp ? 1 : 0);
      this.caughtUp.set({ subscription: s.name }, s.caughtUp ? 1 : 0);
      if (s.origin === null) continue;
      if (s.position !== null) this.position.set({ subscription: s.name, origin: s.origin }, Number(s.position));
      if (s.lag !== null) this.lag.set({ subscription: s.name, origin: s.origin }, s.lag);
    }
    for (const peer of live.peers) {
      this.peerOnline.set({ peer: peer.jid, role: peer.role }, peer.online ? 1 : 0);
      if (peer.lag !== null) this.peerLag.set({ peer: peer.jid }, peer.lag);
    }
    this.deadLetters.set(store.countDeadLetters());
    this.conflicts.set({ kind: 'conflict' }, store.countConflicts('conflict'));
    this.conflicts.set({ kind: 'collision' }, store.countConflicts('collision'));
    this.tombstones.set(store.countTombstones());
    return this.registry.metrics();
  }
}
