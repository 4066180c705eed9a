/** The xmpp: URI of a JID (RFC 5122), used as atom:uri of the author. */

/** Percent-encodes like encodeURIComponent but keeps the JID separators `@` and `/` readable. */
export function xmppUri(jid: string): string {
  return `xmpp:${encodeURIComponent(jid).replace(/%40/g, '@').replace(/%2F/g, '/')}`;
}
