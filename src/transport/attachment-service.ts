import { xml } from '@xmpp/client';
import type { Logger } from 'pino';
import type { NodeConfig } from '../config/schema.js';
import type { SourceKey } from '../format/model.js';
import { ATTACHMENT_OWNERS_SCOPE, type AttachmentOwner } from '../pipeline/capture.js';
import { sha256Hex } from '../pipeline/object-hash.js';
import type { AttachmentContent } from '../plugin-api/roles.js';
import type { StateStore } from '../state/state-store.js';
import { bare } from './pubsub-nodes.js';
import type { Stanza, XmppConnection } from './xmpp-connection.js';

export const NS_ATTACHMENT = 'urn:xmpp:pubsync:attachment:0';
const NS_STANZAS = 'urn:ietf:params:xml:ns:xmpp-stanzas';
/** What the answer's envelope (iq, attributes, element) may take beside the base64 chunk. */
const ENVELOPE_BYTES = 4096;

/** Reads the current bytes of an attachment from the source that captured the object. */
export type ReadAttachment = (
  source: string,
  keys: readonly SourceKey[],
  name: string,
  signal: AbortSignal,
) => Promise<AttachmentContent | undefined>;

export interface AttachmentServiceOptions {
  readonly store: StateStore;
  readonly nodes: readonly NodeConfig[];
  readonly read: ReadAttachment;
  /** Attachments above this size are refused (the receiver dead-letters the entry). */
  readonly maxBytes: number;
  /** The client-to-server stanza limit: each answer carries at most what fits under it. */
  readonly stanzaLimit: number;
  readonly logger: Logger;
  readonly signal: AbortSignal;
}

/** Bytes of content one answer carries, so that its base64 stays under the stanza limit. */
export function chunkBytes(stanzaLimit: number): number {
  return Math.max(3, Math.floor((stanzaLimit - ENVELOPE_BYTES) / 4) * 3);
}

/**
 * Serves the attachments that travelled by reference to the peers on the whitelist of a node the
 * entry was published to, in chunks under the stanza limit:
 * `<attachment xmlns="urn:xmpp:pubsync:attachment:0" entry="urn:uuid:…" name="…" sha256="…" offset="0"/>`
 * is answered with the same element carrying `length` (the whole), `content-type` and the chunk
 * from `offset` in base64. Only the current content is served: when the object changed since
 * (another SHA-256) the answer is item-not-found, and the newer entry brings the newer reference.
 */
export function serveAttachments(connection: XmppConnection, options: AttachmentServiceOptions): void {
  const cache = new LastRead();
  connection.handleGet(NS_ATTACHMENT, 'attachment', (from, query) => answer(from, query, options, cache));
}

async function answer(from: string, query: Stanza, options: AttachmentServiceOptions, cache: LastRead): Promise<Stanza> {
  const { store, nodes, logger } = options;
  const entry = String(query.attrs.entry ?? '');
  const name = String(query.attrs.name ?? '');
  const sha256 = String(query.attrs.sha256 ?? '');
  const offsetText = String(query.attrs.offset ?? '0');
  if (!entry || !name || !/^[0-9a-f]{64}$/.test(sha256) || !/^\d{1,12}$/.test(offsetText)) {
    return stanzaError('modify', 'bad-request', 'entry, name, a lowercase hex sha256 and a decimal offset are required');
  }
  const peer = bare(from);
  const owner = ownerOf(store, entry);
  // The same answer for an unknown entry and one the peer may not see: no probing of our ids.
  const allowed = owner?.nodes.some((nodeName) => {
    const node = nodes.find((n) => n.name === nodeName);
    return node !== undefined && (node.members.includes(peer) || node.publishers.includes(peer));
  });
  if (!owner || !allowed) {
    logger.warn({ peer, entry, attachment: name }, 'attachment refused: peer not on the whitelist of a node of the entry');
    return stanzaError('auth', 'forbidden', `${peer} may not read attachments of entry ${entry}`);
  }
  const key = `${owner.source}\n${entry}\n${name}\n${sha256}`;
  let content = cache.get(key);
  if (!content) {
    try {
      const read = await options.read(owner.source, owner.keys, name, options.signal);
      if (read && read.data.length > options.maxBytes) {
        return stanzaError('cancel', 'not-acceptable', `attachment ${name} of ${entry} has ${read.data.length} bytes, above this daemon's limit of ${options.maxBytes}`);
      }
      if (read && sha256Hex(read.data) === sha256) content = cache.put(key, read);
    } catch (error) {
      logger.warn({ err: error, entry, attachment: name }, 'reading an attachment from the source failed');
      return stanzaError('wait', 'service-unavailable', `the application holding ${entry} cannot be read now`);
    }
  }
  if (!content) {
    return stanzaError('cancel', 'item-not-found', `attachment ${name} of ${entry} with content ${sha256} is not available (changed since, gone, or its source cannot read attachments back)`);
  }
  const { data } = content;
  const offset = Number(offsetText);
  if (offset > data.length) return stanzaError('modify', 'bad-request', `offset ${offset} is past the end (${data.length} bytes)`);
  const chunk = data.subarray(offset, offset + chunkBytes(options.stanzaLimit));
  return xml(
    'attachment',
    { xmlns: NS_ATTACHMENT, entry, name, sha256, 'content-type': content.contentType, length: String(data.length), offset: String(offset) },
    Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('base64'),
  );
}

function ownerOf(store: StateStore, entry: string): AttachmentOwner | undefined {
  const text = store.kvGet(ATTACHMENT_OWNERS_SCOPE, entry);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as AttachmentOwner;
  } catch {
    return undefined;
  }
}

/**
 * The last attachment served, already checked against its SHA-256, so that the chunks of one fetch
 * read the application once. One entry only: memory stays bounded by the largest attachment served.
 */
class LastRead {
  #key = '';
  #content: AttachmentContent | undefined;

  get(key: string): AttachmentContent | undefined {
    return this.#key === key ? this.#content : undefined;
  }

  put(key: string, content: AttachmentContent): AttachmentContent {
    this.#key = key;
    this.#content = content;
    return content;
  }
}

function stanzaError(type: string, condition: string, text: string): Stanza {
  return xml('error', { type }, xml(condition, NS_STANZAS), xml('text', { xmlns: NS_STANZAS }, text));
}
