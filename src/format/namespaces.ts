/** Namespace URIs and fixed vocabulary of the syndication format (docs/format.md). */

export const ATOM_NS = 'http://www.w3.org/2005/Atom';
/** RFC 6721 tombstones. */
export const TOMBSTONE_NS = 'http://purl.org/atompub/tombstones/1.0';
/** The pubsync payload vocabulary; the trailing version changes only with incompatible changes. */
export const PUBSYNC_NS = 'urn:xmpp:pubsync:entry:1';

/** atom:category scheme whose term is the object type. */
export const TYPE_SCHEME = 'urn:pubsync:type';
/** atom:category scheme whose terms are the object's tags. */
export const TAG_SCHEME = 'urn:pubsync:tag';

export const CONTENT_TYPE = 'application/xml';
/** Value of the `enc` attribute on text that carries characters XML 1.0 cannot hold. */
export const BASE64_ENCODING = 'base64';
