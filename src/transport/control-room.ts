import { xml } from '@xmpp/client';
import type { Logger } from 'pino';
import { bare } from './pubsub-nodes.js';
import type { Stanza, XmppConnection } from './xmpp-connection.js';

export const NS_CONTROL = 'urn:xmpp:pubsync:control:0';
const NS_MUC = 'http://jabber.org/protocol/muc';
const NS_MUC_USER = 'http://jabber.org/protocol/muc#user';
const NS_MUC_OWNER = 'http://jabber.org/protocol/muc#owner';
const NS_DATA = 'jabber:x:data';

export type Role = 'master' | 'read-write' | 'read-only';
export type ReplicaState = 'online' | 'catching-up';

/** What a peer says of itself in the room, and what the room says of it. */
export interface Peer {
  readonly jid: string;
  readonly nick: string;
  readonly role: Role;
  readonly replica?: number;
  readonly state?: ReplicaState;
  /** Its origin's last log sequence (what it published) as it advertised it. */
  readonly head?: bigint;
  /** Per origin JID, the last sequence it received (a version vector). */
  readonly received: ReadonlyMap<string, bigint>;
  readonly present: boolean;
}

export interface ControlRoomOptions {
  readonly connection: XmppConnection;
  /** Room bare JID, e.g. dataset@conference.example.org */
  readonly room: string;
  readonly replica: number;
  readonly logger: Logger;
  /** Our own state for the presence extension. */
  readonly describe: () => { state: ReplicaState; head: bigint; received: ReadonlyMap<string, bigint> };
  /** A peer advertised a head beyond what we received from it. */
  readonly onPeerAhead?: (jid: string, head: bigint) => void;
}

/**
 * The dataset's MUC room: who is online, how far each peer is, and each peer's role. Roles come
 * from room affiliations (owner or admin = master, member = read-write, anything less =
 * read-only), read from the presence the room broadcasts, so a change made by a room owner
 * applies at once. Real JIDs come from the room (we make rooms we create non-anonymous); the
 * extension's own claim is used only when the room hides them.
 */
export class ControlRoom {
  readonly #options: ControlRoomOptions;
  readonly #peers = new Map<string, Peer>();
  readonly #nick: string;
  #selfRole: Role | undefined;
  #lastSent = '';

  constructor(options: ControlRoomOptions) {
    this.#options = options;
    this.#nick = `replica-${options.replica}`;
    options.connection.onStanza((stanza) => this.#onStanza(stanza));
  }

  get role(): Role | undefined {
    return this.#selfRole;
  }

  /** The peer's role, or undefined while the room has not shown it. */
  roleOf(jid: string): Role | undefined {
    return this.#peers.get(bare(jid))?.role;
  }

  isReadOnly(jid: string): boolean {
    return this.roleOf(jid) === 'read-only';
  }

  peers(): Peer[] {
    return [...this.#peers.values()];
  }

  /** Joins (after every reconnection: the room forgets us when the stream goes). */
  async join(): Promise<void> {
    this.#lastSent = '';
    await this.announce(true);
  }

  /** Sends our presence again if what it says changed. */
  async announce(join = false): Promise<void> {
    const { connection, room } = this.#options;
    if (!connection.online) return;
    const ext = this.#extension();
    const text = ext.toString();
    if (!join && text === this.#lastSent) return;
    this.#lastSent = text;
    const children = join ? [xml('x', { xmlns: NS_MUC }, xml('history', { maxstanzas: '0' })), ext] : [ext];
    await connection.send(xml('presence', { to: `${room}/${this.#nick}` }, ...children));
  }

  /** Sets a peer's room affiliation (we must be owner or admin): how roles are changed. */
  async setAffiliation(jid: string, affiliation: 'owner' | 'admin' | 'member' | 'none'): Promise<void> {
    await this.#options.connection.request(
      xml('iq', { type: 'set', to: this.#options.room }, xml('query', { xmlns: 'http://jabber.org/protocol/muc#admin' }, xml('item', { jid, affiliation }))),
      `set affiliation of ${jid} in ${this.#options.room}`,
    );
  }

  #extension(): Stanza {
    const { state, head, received } = this.#options.describe();
    return xml(
      'replica',
      { xmlns: NS_CONTROL, id: String(this.#options.replica), jid: this.#options.connection.bareJid, state, head: String(head) },
      ...[...received].map(([origin, seq]) => xml('received', { origin, seq: String(seq) })),
    );
  }

  #onStanza(stanza: Stanza): void {
    if (!stanza.is('presence')) return;
    const from = String(stanza.attrs.from ?? '');
    if (bare(from) !== this.#options.room) return;
    const user = stanza.getChild('x', NS_MUC_USER);
    const item = user?.getChild('item');
    if (!user || !item) return;
    const statuses = user.getChildren('status').map((s: Stanza) => String(s.attrs.code));
    const role = roleFor(String(item.attrs.affiliation ?? 'none'));
    if (statuses.includes('110')) {
      if (this.#selfRole !== role) this.#options.logger.info({ role }, 'control room: our role');
      this.#selfRole = role;
      if (statuses.includes('201')) void this.#makeNonAnonymous();
      return;
    }
    const ext = stanza.getChild('replica', NS_CONTROL);
    const claimed = ext?.attrs.jid === undefined ? undefined : String(ext.attrs.jid);
    const jid = item.attrs.jid === undefined ? claimed : bare(String(item.attrs.jid));
    if (!jid) return;
    const before = this.#peers.get(jid);
    const received = new Map<string, bigint>();
    for (const r of ext?.getChildren('received') ?? []) {
      const seq = String(r.attrs.seq ?? '');
      if (/^\d{1,19}$/.test(seq)) received.set(String(r.attrs.origin), BigInt(seq));
    }
    const headText = String(ext?.attrs.head ?? '');
    const head = /^\d{1,19}$/.test(headText) ? BigInt(headText) : undefined;
    const replica = Number(ext?.attrs.id);
    const state = ext?.attrs.state === 'catching-up' ? 'catching-up' : ext ? 'online' : undefined;
    const peer: Peer = {
      jid,
      nick: from.slice(this.#options.room.length + 1),
      role,
      received,
      present: stanza.attrs.type !== 'unavailable',
      ...(Number.isInteger(replica) ? { replica } : {}),
      ...(state ? { state } : {}),
      ...(head === undefined ? {} : { head }),
    };
    this.#peers.set(jid, peer);
    if (before?.role !== role) this.#options.logger.info({ peer: jid, role }, 'control room: peer role');
    if (head !== undefined && peer.present) this.#options.onPeerAhead?.(jid, head);
  }

  async #makeNonAnonymous(): Promise<void> {
    const form = xml(
      'x',
      { xmlns: NS_DATA, type: 'submit' },
      xml('field', { var: 'FORM_TYPE', type: 'hidden' }, xml('value', {}, 'http://jabber.org/protocol/muc#roomconfig')),
      xml('field', { var: 'muc#roomconfig_whois' }, xml('value', {}, 'anyone')),
    );
    try {
      await this.#options.connection.request(xml('iq', { type: 'set', to: this.#options.room }, xml('query', { xmlns: NS_MUC_OWNER }, form)), 'configure the control room');
    } catch (error) {
      this.#options.logger.warn({ err: error }, 'control room: could not make the room non-anonymous');
    }
  }
}

export function roleFor(affiliation: string): Role {
  if (affiliation === 'owner' || affiliation === 'admin') return 'master';
  if (affiliation === 'member') return 'read-write';
  return 'read-only';
}
