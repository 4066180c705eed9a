import { xmppUri } from './xmpp-uri.js';

/** Where an attachment that travels by reference is fetched: the origin daemon's attachment service. */
export interface AttachmentRef {
  /** Full JID of the origin daemon (the service answers IQs there). */
  readonly jid: string;
  /** Global id of the entry the attachment belongs to. */
  readonly entry: string;
  readonly name: string;
  /** Lowercase hex SHA-256 of the content. */
  readonly sha256: string;
}

/**
 * The href of an attachment by reference, an RFC 5122 xmpp: URI with a `pubsync;attachment`
 * query: `xmpp:a@example.org/pubsync?pubsync;attachment;entry=urn%3Auuid%3A…;name=photo.jpg;sha256=…`.
 */
export function attachmentUri(ref: AttachmentRef): string {
  const param = (key: string, value: string): string => `${key}=${encodeURIComponent(value)}`;
  return `${xmppUri(ref.jid)}?pubsync;attachment;${param('entry', ref.entry)};${param('name', ref.name)};${param('sha256', ref.sha256)}`;
}

/** The reference an href names, or undefined when it is not an attachment URI of ours. */
export function parseAttachmentUri(href: string): AttachmentRef | undefined {
  const match = /^xmpp:([^?#]+)\?pubsync;attachment;(.*)$/.exec(href);
  if (!match?.[1] || match[2] === undefined) return undefined;
  const params = new Map<string, string>();
  for (const pair of match[2].split(';')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) return undefined;
    try {
      params.set(pair.slice(0, eq), decodeURIComponent(pair.slice(eq + 1)));
    } catch {
      return undefined;
    }
  }
  const [entry, name, sha256] = [params.get('entry'), params.get('name'), params.get('sha256')];
  let jid: string;
  try {
    jid = decodeURIComponent(match[1]);
  } catch {
    return undefined;
  }
  if (!entry || !name || !sha256 || !/^[0-9a-f]{64}$/.test(sha256) || !jid.includes('@')) return undefined;
  return { jid, entry, name, sha256 };
}
