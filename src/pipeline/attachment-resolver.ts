import type { Attachment, Entry } from '../format/model.js';

/**
 * Fetches the bytes of an attachment that travelled by reference (href, no data), checked against
 * the entry's length and SHA-256. Throws a record SyncError when the origin refuses or the bytes
 * do not match (the entry is dead-lettered), a transient one when the origin cannot be reached.
 */
export interface AttachmentResolver {
  resolve(attachment: Attachment, entry: Entry, signal: AbortSignal): Promise<Uint8Array>;
}

/** A resolver whose implementation exists later (the transport starts after the appliers). */
export function deferredResolver(current: () => AttachmentResolver | undefined, missing: () => Error): AttachmentResolver {
  return {
    resolve(attachment, entry, signal) {
      const resolver = current();
      return resolver ? resolver.resolve(attachment, entry, signal) : Promise.reject(missing());
    },
  };
}
