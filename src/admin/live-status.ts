import type { Config } from '../config/schema.js';
import type { StateStore } from '../state/state-store.js';
import { PUBLISHER_SCOPE } from '../transport/publisher.js';
import { XmppTransport } from '../transport/xmpp-transport.js';
import type { AdminTarget } from './admin-target.js';

/** What only the running daemon knows: connection, peers, positions, queues. Sequences are strings (JSON has no bigint). */
export interface LiveStatus {
  readonly pid: number;
  readonly ready: boolean;
  readonly started: boolean;
  readonly xmpp: { readonly jid: string; readonly connected: boolean; readonly role: string | null; readonly caughtUp: boolean } | null;
  readonly outbound: { readonly lastSeq: string; readonly publishedSeq: string | null; readonly unpublished: number | null; readonly publishedSinceStart: number | null };
  readonly nodes: readonly { readonly name: string; readonly publishedSeq: string }[];
  readonly subscriptions: readonly SubscriptionStatus[];
  readonly peers: readonly PeerStatus[];
}

export interface SubscriptionStatus {
  readonly name: string;
  readonly node: string;
  readonly sink: string;
  readonly origin: string | null;
  /** The last origin sequence received. */
  readonly position: string | null;
  /** The origin's log head as it last announced it in the control room; null when not known. */
  readonly originHead: string | null;
  /** originHead - position; null when the head is not known (no control room, or not seen yet). */
  readonly lag: number | null;
  readonly catchingUp: boolean;
  readonly caughtUp: boolean;
  /** Batches received and waiting to be applied. */
  readonly queueDepth: number;
}

export interface PeerStatus {
  readonly jid: string;
  readonly nick: string;
  readonly role: string;
  readonly online: boolean;
  readonly state: string | null;
  readonly head: string | null;
  /** What the peer received of our log, as it announced it. */
  readonly receivedOfOurs: string | null;
  /** Our log head minus what the peer received of it; null when it did not say. */
  readonly lag: number | null;
}

/** Ready: started, and (with XMPP) online and every subscription caught up since the last connection. */
export function isReady(target: AdminTarget): boolean {
  if (!target.started) return false;
  const transport = target.transport;
  if (!(transport instanceof XmppTransport)) return true;
  return transport.connection.online && transport.subscriber.caughtUp;
}

export function readLiveStatus(target: AdminTarget, store: StateStore, config: Config): LiveStatus {
  const transport = target.transport instanceof XmppTransport ? target.transport : undefined;
  const head = store.lastOutboundSeq();
  const published = transport ? transport.publisher.position : undefined;
  const tracks = new Map((transport?.subscriber.tracks() ?? []).map((t) => [t.name, t]));
  const peers = transport?.controlRoom?.peers() ?? [];
  const heads = new Map(peers.filter((p) => p.head !== undefined).map((p) => [p.jid, p.head ?? 0n]));
  const ourJid = config.xmpp?.jid;
  return {
    pid: process.pid,
    ready: isReady(target),
    started: target.started,
    xmpp: transport
      ? {
          jid: transport.connection.bareJid,
          connected: transport.connection.online,
          role: transport.controlRoom?.role ?? null,
          caughtUp: transport.subscriber.caughtUp,
        }
      : null,
    outbound: {
      lastSeq: String(head),
      publishedSeq: published === undefined ? null : String(published),
      unpublished: published === undefined ? null : Math.max(0, Number(head - published)),
      publishedSinceStart: transport ? transport.publisher.published : null,
    },
    nodes: config.nodes.map((node) => ({ name: node.name, publishedSeq: store.kvGet(PUBLISHER_SCOPE, `node:${node.name}`) ?? '0' })),
    subscriptions: config.subscriptions.map((subscription): SubscriptionStatus => {
      const track = tracks.get(subscription.name);
      const origin = subscription.publisher ?? null;
      const position = track ? track.received : origin ? store.getHighWater(subscription.name, origin) : undefined;
      const originHead = origin ? heads.get(origin) : undefined;
      return {
        name: subscription.name,
        node: subscription.node,
        sink: subscription.sink,
        origin,
        position: position === undefined ? null : String(position),
        originHead: originHead === undefined ? null : String(originHead),
        lag: originHead === undefined || position === undefined ? null : Math.max(0, Number(originHead - position)),
        catchingUp: track?.catchingUp ?? false,
        caughtUp: track?.caughtUp ?? false,
        queueDepth: (target.inboundDepth(subscription.name) ?? 0) + (track?.queued ?? 0),
      };
    }),
    peers: peers.map((peer): PeerStatus => {
      const received = ourJid === undefined ? undefined : peer.received.get(ourJid);
      return {
        jid: peer.jid,
        nick: peer.nick,
        role: peer.role,
        online: peer.present,
        state: peer.state ?? null,
        head: peer.head === undefined ? null : String(peer.head),
        receivedOfOurs: received === undefined ? null : String(received),
        lag: received === undefined ? null : Math.max(0, Number(head - received)),
      };
    }),
  };
}
