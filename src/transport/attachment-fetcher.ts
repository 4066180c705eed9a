import { xml } from '@xmpp/client';
import type { Logger } from 'pino';
import { ErrorCodes } from '../errors/codes.js';
import { NotConnectedError, SyncError } from '../errors/sync-error.js';
import { parseAttachmentUri } from '../format/attachment-uri.js';
import type { Attachment, Entry } from '../format/model.js';
import type { AttachmentResolver } from '../pipeline/attachment-resolver.js';
import { sha256Hex } from '../pipeline/object-hash.js';
import { NS_ATTACHMENT } from './attachment-service.js';
import { bare } from './pubsub-nodes.js';
import { StanzaRequestError, type XmppConnection } from './xmpp-connection.js';

/** Answers that mean the origin will not serve these bytes: asking again would not help. */
const REFUSALS = new Set(['forbidden', 'not-acceptable', 'bad-request', 'item-not-found', 'not-allowed', 'feature-not-implemented']);

export interface AttachmentFetcherOptions {
  readonly connection: XmppConnection;
  /** Attachments above this size are not fetched (the entry is dead-lettered). */
  readonly maxBytes: number;
  readonly logger: Logger;
  readonly requestTimeoutMs?: number;
}

/**
 * Fetches attachments by reference from the origin daemon's attachment service, chunk by chunk,
 * and checks the result against the entry's length and SHA-256 before anything is written.
 */
export class AttachmentFetcher implements AttachmentResolver {
  readonly #options: AttachmentFetcherOptions;

  constructor(options: AttachmentFetcherOptions) {
    this.#options = options;
  }

  async resolve(attachment: Attachment, entry: Entry, signal: AbortSignal): Promise<Uint8Array> {
    const where = `attachment ${attachment.name} of ${entry.id}`;
    const ref = attachment.href === undefined ? undefined : parseAttachmentUri(attachment.href);
    if (!ref) throw refused(`${where} has no pubsync attachment href (${attachment.href ?? 'none'})`, attachment);
    // Only the origin serves its attachments: an href pointing elsewhere is not followed.
    if (bare(ref.jid) !== entry.origin.jid || ref.entry !== entry.id || ref.name !== attachment.name) {
      throw refused(`${where}: href ${attachment.href ?? ''} does not name this entry at its origin ${entry.origin.jid}`, attachment);
    }
    if (attachment.length > this.#options.maxBytes) {
      throw refused(`${where} has ${attachment.length} bytes, above this daemon's limit of ${this.#options.maxBytes}`, attachment);
    }
    const started = Date.now();
    const data = new Uint8Array(attachment.length);
    let offset = 0;
    do {
      signal.throwIfAborted();
      const chunk = await this.#chunk(ref, offset, where, attachment);
      if (chunk.total !== attachment.length || chunk.data.length === 0 || offset + chunk.data.length > attachment.length) {
        throw mismatch(`${where}: the origin serves ${chunk.total} bytes, the entry says ${attachment.length}`, attachment);
      }
      data.set(chunk.data, offset);
      offset += chunk.data.length;
    } while (offset < attachment.length);
    const digest = sha256Hex(data);
    if (digest !== attachment.sha256) {
      throw mismatch(`${where}: fetched content has SHA-256 ${digest}, the entry says ${attachment.sha256}`, attachment);
    }
    this.#options.logger.debug({ entryId: entry.id, attachment: attachment.name, bytes: data.length, ms: Date.now() - started }, 'attachment fetched');
    return data;
  }

  async #chunk(
    ref: { jid: string; entry: string; name: string; sha256: string },
    offset: number,
    where: string,
    attachment: Attachment,
  ): Promise<{ total: number; data: Uint8Array }> {
    const query = xml('attachment', { xmlns: NS_ATTACHMENT, entry: ref.entry, name: ref.name, sha256: ref.sha256, offset: String(offset) });
    let reply;
    try {
      reply = await this.#options.connection.request(xml('iq', { type: 'get', to: ref.jid }, query), `fetch ${where} from ${ref.jid}`, this.#options.requestTimeoutMs);
    } catch (error) {
      if (error instanceof StanzaRequestError && REFUSALS.has(error.condition)) {
        throw new SyncError(ErrorCodes.ATTACHMENT_REFUSED, 'record', `${ref.jid} refused ${where}: ${error.message}`, {
          cause: error,
          details: { ...details(attachment), condition: error.condition },
        });
      }
      if (error instanceof NotConnectedError) throw error;
      throw new SyncError(ErrorCodes.ATTACHMENT_UNAVAILABLE, 'transient', `cannot fetch ${where} from ${ref.jid} now: ${(error as Error).message}`, {
        cause: error,
        details: details(attachment),
      });
    }
    const element = reply.getChild('attachment', NS_ATTACHMENT);
    const total = Number(element?.attrs.length);
    if (!element || !Number.isSafeInteger(total) || String(element.attrs.offset ?? '') !== String(offset)) {
      throw mismatch(`${where}: the answer of ${ref.jid} at offset ${offset} is malformed`, attachment);
    }
    return { total, data: new Uint8Array(Buffer.from(element.getText(), 'base64')) };
  }
}

function details(attachment: Attachment): Record<string, unknown> {
  return { attachment: attachment.name, length: attachment.length, sha256: attachment.sha256, href: attachment.href };
}

function refused(message: string, attachment: Attachment): SyncError {
  return new SyncError(ErrorCodes.ATTACHMENT_REFUSED, 'record', message, { details: details(attachment) });
}

function mismatch(message: string, attachment: Attachment): SyncError {
  return new SyncError(ErrorCodes.ATTACHMENT_MISMATCH, 'record', message, { details: details(attachment) });
}
