import { xml } from '@xmpp/client';
import type { Logger } from 'pino';
import type { NodeConfig } from '../config/schema.js';
import { ErrorCodes } from '../errors/codes.js';
import { SyncError } from '../errors/sync-error.js';
import { parseFeed } from '../format/index.js';
import type { Batch, Origin } from '../format/model.js';
import type { OutboundRecord, StateStore } from '../state/state-store.js';
import { packFeeds } from './feed-packer.js';
import { bare, RawXml } from './pubsub-nodes.js';
import type { Stanza, XmppConnection } from './xmpp-connection.js';

export const NS_CATCHUP = 'urn:xmpp:pubsync:catchup:0';
export const NS_RSM = 'http://jabber.org/protocol/rsm';
const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';
/** Log records read per scan while looking for one node's entries. */
const SCAN_CHUNK = 2000;
/** Records scanned for one page at most, so a node with rare entries cannot make one IQ unbounded. */
const SCAN_MAX = 50_000;

export interface CatchUpServerOptions {
  readonly store: StateStore;
  readonly nodes: readonly NodeConfig[];
  readonly origin: Origin;
  readonly logger: Logger;
  readonly pageEntries: number;
  /** Bytes of the feed in one answer (it travels client-to-server: under the stanza limit). */
  readonly maxBytes: number;
  /** Told of each whitelisted peer that asks: it is online now. */
  readonly onPeerAsked?: (peer: string) => void;
}

/**
 * Serves our outbound log, node by node, to the peers on that node's whitelist: PubSub keeps no
 * history worth the name and loses notifications sent while a peer was offline, so a peer pulls
 * what it missed from us. Paged with XEP-0059: `after` is the last sequence the peer has.
 */
export function serveCatchUp(connection: XmppConnection, options: CatchUpServerOptions): void {
  connection.handleGet(NS_CATCHUP, 'query', (from, query) => answer(from, query, options));
}

function answer(from: string, query: Stanza, options: CatchUpServerOptions): Stanza {
  const { store, nodes, origin, logger } = options;
  const nodeName = String(query.attrs.node ?? '');
  const node = nodes.find((n) => n.name === nodeName);
  if (!node) return stanzaError('cancel', 'item-not-found', `no node ${nodeName}`);
  const peer = bare(from);
  if (!node.members.includes(peer) && !node.publishers.includes(peer)) {
    logger.warn({ peer, node: nodeName }, 'catch-up refused: peer not on the node whitelist');
    return stanzaError('auth', 'forbidden', `${peer} is not on the whitelist of node ${nodeName}`);
  }
  const set = query.getChild('set', NS_RSM);
  const afterText = set?.getChildText('after') ?? '0';
  const maxText = set?.getChildText('max');
  if (!/^\d{1,19}$/.test(afterText) || (maxText != null && !/^\d{1,6}$/.test(maxText))) {
    return stanzaError('modify', 'bad-request', 'after and max must be decimal sequence numbers');
  }
  const after = BigInt(afterText);
  const max = Math.max(1, Math.min(options.pageEntries, maxText == null ? options.pageEntries : Number(maxText)));
  // What the peer asks after, it has: the log may be trimmed up to there.
  store.setPeerAck(peer, after);
  options.onPeerAsked?.(peer);

  const head = store.lastOutboundSeq();
  // A snapshot when asked for (a new subscriber), and when records after `after` were trimmed:
  // the peer would otherwise skip them silently. Compaction keeps each entry's newest record, so
  // the snapshot from `after` holds everything the peer lacks.
  const trimmed = isTrimmedPast(store, after, head);
  const snapshot = query.getChild('snapshot') !== undefined || trimmed;
  const read = snapshot ? store.readSnapshot.bind(store) : store.readOutbound.bind(store);
  const picked: OutboundRecord[] = [];
  let scanned = after;
  while (picked.length < max && scanned < head && scanned - after < SCAN_MAX) {
    const chunk = read(scanned, SCAN_CHUNK);
    if (chunk.length === 0) {
      // Nothing logged beyond: the range up to head held nothing more for anyone.
      scanned = head;
      break;
    }
    for (const record of chunk) {
      if (picked.length >= max) break;
      scanned = record.seq;
      if (record.nodes.includes(nodeName)) picked.push(record);
    }
  }
  if (trimmed) logger.info({ peer, node: nodeName, after: String(after) }, 'catch-up after a trimmed range: answering with a snapshot');
  const result = xml('query', { xmlns: NS_CATCHUP, node: nodeName, head: String(head) });
  if (snapshot) result.append(xml('snapshot', trimmed ? { reason: 'trimmed' } : {}));
  let last = scanned;
  let first: { xml: string; lastSeq: bigint } | undefined;
  for (const step of packFeeds(origin, after, picked, { maxEntries: max, maxBytes: options.maxBytes, maxItemBytes: options.maxBytes })) {
    if (step.kind === 'feed') {
      first = step.feed;
      break;
    }
  }
  if (first) {
    if (first.lastSeq === picked.at(-1)?.seq) {
      // The page holds every entry of this node up to `scanned`: its range says so.
      result.children.push(new RawXml(withRange(first.xml, first.lastSeq, scanned)) as unknown as Stanza);
    } else {
      last = first.lastSeq;
      result.children.push(new RawXml(first.xml) as unknown as Stanza);
    }
  }
  result.append(xml('set', { xmlns: NS_RSM }, xml('last', {}, String(last))));
  return result;
}

/** Whether the log lost records after `after` (trimmed or compacted away before the peer got them). */
function isTrimmedPast(store: StateStore, after: bigint, head: bigint): boolean {
  if (after >= head) return false;
  if (store.compactedThrough() > after) return true;
  const oldest = store.oldestOutboundSeq();
  return oldest === undefined || oldest > after + 1n;
}

/** The feed of a page whose range ends at `scanned` rather than at its last entry. */
function withRange(feedXml: string, lastSeq: bigint, scanned: bigint): string {
  if (lastSeq === scanned) return feedXml;
  // The range is written once as attributes of ps:batch (the id and title only name it).
  return feedXml.replace(` last-seq="${lastSeq}">`, ` last-seq="${scanned}">`);
}

export interface PullOptions {
  readonly connection: XmppConnection;
  /** Full JID of the origin daemon. */
  readonly peer: string;
  readonly node: string;
  readonly after: bigint;
  /** Ask for a compacted snapshot (a subscriber that has nothing of this origin yet). */
  readonly snapshot?: boolean;
  readonly pageEntries: number;
  readonly logger: Logger;
  /** Takes one page; resolves when it was handed on (backpressure reaches the pull). */
  readonly deliver: (batch: Batch) => Promise<void>;
  /** Told after every page (progress bars). */
  readonly onProgress?: (progress: CatchUpProgress) => void;
}

/** Where one pull stands, in the origin's log sequence numbers (other nodes' records count too). */
export interface CatchUpProgress {
  readonly node: string;
  readonly peer: string;
  /** The position the pull started from. */
  readonly from: bigint;
  /** The position reached so far. */
  readonly at: bigint;
  /** The origin's log head as of the last page. */
  readonly head: bigint;
  readonly entries: number;
  readonly done: boolean;
}

/** Pulls everything after `after` from the origin, page by page; returns the new position. */
export async function pullFromOrigin(options: PullOptions): Promise<bigint> {
  const { connection, peer, node, pageEntries, logger, deliver } = options;
  let after = options.after;
  // Once the origin answers with a snapshot, the following pages continue it.
  let snapshot = options.snapshot ?? false;
  const started = Date.now();
  let entries = 0;
  let lastLog = started;
  for (;;) {
    const reply = await connection.request(
      xml(
        'iq',
        { type: 'get', to: peer },
        xml(
          'query',
          { xmlns: NS_CATCHUP, node },
          ...(snapshot ? [xml('snapshot')] : []),
          xml('set', { xmlns: NS_RSM }, xml('after', {}, String(after)), xml('max', {}, String(pageEntries))),
        ),
      ),
      `catch up on node ${node} from ${peer}`,
      60_000,
    );
    const query = reply.getChild('query', NS_CATCHUP);
    if (!query) throw new SyncError(ErrorCodes.XMPP_REQUEST_FAILED, 'transient', `catch-up answer from ${peer} has no query`);
    const head = BigInt(String(query.attrs.head ?? '0'));
    const answeredSnapshot = query.getChild('snapshot');
    if (answeredSnapshot && !snapshot) {
      logger.warn({ node, peer, after: String(after), reason: answeredSnapshot.attrs.reason }, 'the origin trimmed past our position: receiving a snapshot');
    }
    snapshot ||= answeredSnapshot !== undefined;
    const lastText = query.getChild('set', NS_RSM)?.getChildText('last') ?? String(after);
    const last = /^\d{1,19}$/.test(lastText) ? BigInt(lastText) : after;
    const feed = query.getChild('feed');
    if (feed) {
      const batch = parseFeed(feed.toString());
      if (bare(peer) !== batch.origin.jid) {
        throw new SyncError(ErrorCodes.TRANSPORT_UNTRUSTED, 'transient', `catch-up feed from ${peer} claims origin ${batch.origin.jid}`);
      }
      await deliver(batch);
      entries += batch.entries.length;
    }
    const done = last <= after || last >= head;
    options.onProgress?.({ node, peer, from: options.after, at: last > after ? last : after, head, entries, done });
    if (done) {
      if (entries > 0) logger.info({ node, peer, entries, snapshot, ms: Date.now() - started }, 'caught up');
      return last > after ? last : after;
    }
    after = last;
    if (Date.now() - lastLog > 2000) {
      lastLog = Date.now();
      const rate = entries / ((lastLog - started) / 1000);
      const left = Number(head - after);
      logger.info({ node, peer, entries, perSecond: Math.round(rate), behind: left }, 'catching up');
    }
  }
}

function stanzaError(type: string, condition: string, text: string): Stanza {
  return xml('error', { type }, xml(condition, NS_STANZAS), xml('text', { xmlns: NS_STANZAS }, text));
}
