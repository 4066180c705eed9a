import { client, xml, type Client } from '@xmpp/client';
import type { ProsodyServer, XmppAccount } from '../../test/harness/prosody.js';

/** An element as xml() builds it (the type @xmpp/client does not export by name). */
export type Stanza = ReturnType<typeof xml>;

export const NS_PUBSUB = 'http://jabber.org/protocol/pubsub';
export const NS_PUBSUB_EVENT = 'http://jabber.org/protocol/pubsub#event';
export const NS_ATOM = 'http://www.w3.org/2005/Atom';

/** A plain @xmpp/client session (PLAIN over loopback, no reconnect), online with presence. */
export async function bareLogin(server: ProsodyServer, account: XmppAccount, resource: string): Promise<Client> {
  const xmpp = client({
    service: server.service,
    domain: server.domain,
    resource,
    credentials: (authenticate, mechanisms) =>
      authenticate({ username: account.username, password: account.password }, mechanisms.includes('PLAIN') ? 'PLAIN' : (mechanisms[0] ?? ''), xml('user-agent')),
  });
  xmpp.reconnect.stop();
  xmpp.on('error', () => {});
  await xmpp.start();
  await xmpp.send(xml('presence'));
  return xmpp;
}

export function request(xmpp: Client, stanza: Stanza, timeoutMs = 60_000): Promise<Stanza> {
  return xmpp.iqCaller.request(stanza, timeoutMs) as Promise<Stanza>;
}

/** Creates a persistent node holding up to `maxItems` items, as the daemon configures its nodes. */
export async function createNode(xmpp: Client, service: string, node: string, maxItems = 256, persist = true): Promise<void> {
  const field = (v: string, value: string): Stanza => xml('field', { var: v }, xml('value', {}, value));
  await request(
    xmpp,
    xml(
      'iq',
      { type: 'set', to: service },
      xml(
        'pubsub',
        { xmlns: NS_PUBSUB },
        xml('create', { node }),
        xml(
          'configure',
          {},
          xml(
            'x',
            { xmlns: 'jabber:x:data', type: 'submit' },
            xml('field', { var: 'FORM_TYPE', type: 'hidden' }, xml('value', {}, 'http://jabber.org/protocol/pubsub#node_config')),
            field('pubsub#access_model', 'open'),
            field('pubsub#persist_items', persist ? '1' : '0'),
            field('pubsub#max_items', String(maxItems)),
            field('pubsub#notification_type', 'headline'),
          ),
        ),
      ),
    ),
  );
}

export async function subscribeBare(xmpp: Client, service: string, node: string): Promise<void> {
  const jid = xmpp.jid?.bare().toString() ?? '';
  await request(xmpp, xml('iq', { type: 'set', to: service }, xml('pubsub', { xmlns: NS_PUBSUB }, xml('subscribe', { node, jid }))));
}

/** One ~`bytes` Atom entry as an element: what one-entry-per-item publishing sends. */
export function atomEntry(id: string, body: string): Stanza {
  return xml(
    'entry',
    { xmlns: NS_ATOM },
    xml('id', {}, `urn:uuid:${id}`),
    xml('title', {}, `note ${id}`),
    xml('updated', {}, new Date().toISOString()),
    xml('content', { type: 'text' }, body),
  );
}

export function publishIq(service: string, node: string, itemId: string, payload: Stanza): Stanza {
  return xml('iq', { type: 'set', to: service }, xml('pubsub', { xmlns: NS_PUBSUB }, xml('publish', { node }, xml('item', { id: itemId }, payload))));
}

/** Counts the items arriving as event notifications for `node`; `onItem` sees each item id. */
export function countItems(xmpp: Client, node: string, onItem: (id: string) => void = () => {}): { readonly count: number } {
  const state = { count: 0 };
  xmpp.on('stanza', (stanza: Stanza) => {
    if (!stanza.is('message')) return;
    const items = stanza.getChild('event', NS_PUBSUB_EVENT)?.getChild('items');
    if (items?.attrs.node !== node) return;
    for (const item of items.getChildren('item')) {
      state.count++;
      onItem(String(item.attrs.id));
    }
  });
  return state;
}
