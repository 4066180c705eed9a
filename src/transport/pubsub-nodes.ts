import { xml } from '@xmpp/client';
import type { Logger } from 'pino';
import type { NodeConfig } from '../config/schema.js';
import { StanzaRequestError, type Stanza, type XmppConnection } from './xmpp-connection.js';

export const NS_PUBSUB = 'http://jabber.org/protocol/pubsub';
export const NS_PUBSUB_OWNER = 'http://jabber.org/protocol/pubsub#owner';
export const NS_PUBSUB_EVENT = 'http://jabber.org/protocol/pubsub#event';
const NS_DATA = 'jabber:x:data';
const NS_DISCO_ITEMS = 'http://jabber.org/protocol/disco#items';

export type Affiliation = 'owner' | 'publisher' | 'member' | 'none' | 'outcast';

/** What one reconciliation changed, for the log and for tests. */
export interface NodeReport {
  readonly node: string;
  readonly created: boolean;
  readonly set: Readonly<Record<string, Affiliation>>;
  readonly unsubscribed: readonly string[];
}

/**
 * Makes each configured node exist with its options and its affiliations match the config:
 * members read, publishers publish, everybody else is removed. A JID taken off the list loses its
 * subscription before its affiliation, because Prosody 0.12 keeps delivering to a still-subscribed
 * JID whose affiliation alone was removed.
 */
export async function ensureNodes(
  connection: XmppConnection,
  service: string,
  nodes: readonly NodeConfig[],
  logger: Logger,
): Promise<NodeReport[]> {
  const reports: NodeReport[] = [];
  for (const node of nodes) reports.push(await ensureNode(connection, service, node, logger));
  return reports;
}

export async function ensureNode(connection: XmppConnection, service: string, node: NodeConfig, logger: Logger): Promise<NodeReport> {
  let created = true;
  try {
    await connection.request(
      xml('iq', { type: 'set', to: service }, xml('pubsub', { xmlns: NS_PUBSUB }, xml('create', { node: node.name }), xml('configure', {}, nodeForm(node)))),
      `create node ${node.name} on ${service}`,
    );
  } catch (error) {
    if (!(error instanceof StanzaRequestError && error.condition === 'conflict')) throw error;
    created = false;
    await connection.request(
      xml('iq', { type: 'set', to: service }, xml('pubsub', { xmlns: NS_PUBSUB_OWNER }, xml('configure', { node: node.name }, nodeForm(node)))),
      `configure node ${node.name} on ${service}`,
    );
  }
  const own = connection.bareJid;
  const wanted = new Map<string, Affiliation>();
  for (const jid of node.members) wanted.set(jid, 'member');
  for (const jid of node.publishers) wanted.set(jid, 'publisher');
  wanted.delete(own);

  const current = await affiliations(connection, service, node.name);
  const set: Record<string, Affiliation> = {};
  for (const [jid, affiliation] of wanted) if (current.get(jid) !== affiliation) set[jid] = affiliation;
  const removed = [...current.keys()].filter((jid) => jid !== own && !wanted.has(jid) && current.get(jid) !== 'owner' && current.get(jid) !== 'none');
  const unsubscribed: string[] = [];
  if (removed.length > 0) {
    const subscribed = await subscribers(connection, service, node.name);
    const drop = subscribed.filter((jid) => removed.includes(bare(jid)));
    if (drop.length > 0) {
      await connection.request(
        xml(
          'iq',
          { type: 'set', to: service },
          xml('pubsub', { xmlns: NS_PUBSUB_OWNER }, xml('subscriptions', { node: node.name }, ...drop.map((jid) => xml('subscription', { jid, subscription: 'none' })))),
        ),
        `remove subscriptions from node ${node.name}`,
      );
      unsubscribed.push(...drop);
    }
    for (const jid of removed) set[jid] = 'none';
  }
  if (Object.keys(set).length > 0) {
    await connection.request(
      xml(
        'iq',
        { type: 'set', to: service },
        xml(
          'pubsub',
          { xmlns: NS_PUBSUB_OWNER },
          xml('affiliations', { node: node.name }, ...Object.entries(set).map(([jid, affiliation]) => xml('affiliation', { jid, affiliation }))),
        ),
      ),
      `set affiliations on node ${node.name}`,
    );
  }
  const report = { node: node.name, created, set, unsubscribed };
  logger.info(report, 'pubsub node ensured');
  return report;
}

export async function affiliations(connection: XmppConnection, service: string, node: string): Promise<Map<string, Affiliation>> {
  const reply = await connection.request(
    xml('iq', { type: 'get', to: service }, xml('pubsub', { xmlns: NS_PUBSUB_OWNER }, xml('affiliations', { node }))),
    `read affiliations of node ${node}`,
  );
  const out = new Map<string, Affiliation>();
  const list = reply.getChild('pubsub', NS_PUBSUB_OWNER)?.getChild('affiliations');
  for (const item of list?.getChildren('affiliation') ?? []) {
    out.set(bare(String(item.attrs.jid)), String(item.attrs.affiliation) as Affiliation);
  }
  return out;
}

/** The JIDs (as subscribed: bare or full) holding a subscription to the node. */
export async function subscribers(connection: XmppConnection, service: string, node: string): Promise<string[]> {
  const reply = await connection.request(
    xml('iq', { type: 'get', to: service }, xml('pubsub', { xmlns: NS_PUBSUB_OWNER }, xml('subscriptions', { node }))),
    `read subscriptions of node ${node}`,
  );
  const list = reply.getChild('pubsub', NS_PUBSUB_OWNER)?.getChild('subscriptions');
  return (list?.getChildren('subscription') ?? [])
    .filter((s: Stanza) => s.attrs.subscription === 'subscribed')
    .map((s: Stanza) => String(s.attrs.jid));
}

/** Subscribes our bare JID (subscriptions survive reconnects and are delivered thanks to presence). */
export async function subscribe(connection: XmppConnection, service: string, node: string): Promise<void> {
  await connection.request(
    xml('iq', { type: 'set', to: service }, xml('pubsub', { xmlns: NS_PUBSUB }, xml('subscribe', { node, jid: connection.bareJid }))),
    `subscribe to node ${node} on ${service}`,
  );
}

/** Publishes one item; `payload` is written as it is (already-serialized XML). */
export async function publish(connection: XmppConnection, service: string, node: string, id: string, payload: string, timeoutMs?: number): Promise<void> {
  const item = xml('item', { id });
  item.children.push(new RawXml(payload) as unknown as Stanza);
  await connection.request(
    xml('iq', { type: 'set', to: service }, xml('pubsub', { xmlns: NS_PUBSUB }, xml('publish', { node }, item))),
    `publish to node ${node}`,
    timeoutMs,
  );
}

/** The items a node holds (newest `max` when given); a whitelist refuses non-members. */
export async function items(connection: XmppConnection, service: string, node: string, max?: number): Promise<Stanza[]> {
  const reply = await connection.request(
    xml('iq', { type: 'get', to: service }, xml('pubsub', { xmlns: NS_PUBSUB }, xml('items', { node, ...(max ? { max_items: String(max) } : {}) }))),
    `read items of node ${node}`,
  );
  return reply.getChild('pubsub', NS_PUBSUB)?.getChild('items')?.getChildren('item') ?? [];
}

/** Partner discovery: the nodes (and titles) a pubsub service lists. */
export async function discoverNodes(connection: XmppConnection, service: string): Promise<{ node: string; name?: string }[]> {
  const reply = await connection.request(xml('iq', { type: 'get', to: service }, xml('query', { xmlns: NS_DISCO_ITEMS })), `list nodes of ${service}`);
  return (reply.getChild('query', NS_DISCO_ITEMS)?.getChildren('item') ?? [])
    .filter((item: Stanza) => item.attrs.node !== undefined)
    .map((item: Stanza) => ({ node: String(item.attrs.node), ...(item.attrs.name ? { name: String(item.attrs.name) } : {}) }));
}

function nodeForm(node: NodeConfig): Stanza {
  const fields: [string, string][] = [
    ['FORM_TYPE', 'http://jabber.org/protocol/pubsub#node_config'],
    ['pubsub#access_model', node.access],
    ['pubsub#publish_model', 'publishers'],
    ['pubsub#persist_items', node.persistItems ? '1' : '0'],
    ['pubsub#max_items', String(node.maxItems)],
    ['pubsub#notification_type', 'headline'],
    ['pubsub#title', node.title ?? node.name],
  ];
  return xml(
    'x',
    { xmlns: NS_DATA, type: 'submit' },
    ...fields.map(([v, value]) => xml('field', { var: v, ...(v === 'FORM_TYPE' ? { type: 'hidden' } : {}) }, xml('value', {}, value))),
  );
}

export function bare(jid: string): string {
  const slash = jid.indexOf('/');
  return slash === -1 ? jid : jid.slice(0, slash);
}

/** Pre-serialized XML inside an ltx tree: ltx asks children to write themselves. */
export class RawXml {
  constructor(readonly text: string) {}
  write(writer: (s: string) => void): void {
    writer(this.text);
  }
  toString(): string {
    return this.text;
  }
}
