import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Attachment, Child, Entry, Field, ObjectEntry, Origin, SourceKey } from '../format/model.js';
import type { ChangeAttachment, DeleteChange, SourceBatch, UpsertChange } from '../plugin-api/change.js';
import type { CapturedObject, StateStore } from '../state/state-store.js';
import { attachmentUri } from '../format/attachment-uri.js';
import { hashParts, sha256Hex } from './object-hash.js';
import type { Router } from './router.js';

/** The part of the CSN clock capture needs. */
export interface CsnStamp {
  next(): string;
  observe(csn: string): void;
}

export interface CaptureOptions {
  readonly store: StateStore;
  readonly clock: CsnStamp;
  readonly router: Router;
  readonly origin: Origin;
  readonly serialize: (entry: Entry) => string;
  /** Attachments up to this size travel inline; larger ones by reference. */
  readonly inlineAttachmentBytes: number;
  /** Full JID whose attachment service serves larger ones (href); origin.jid when absent. */
  readonly attachmentService?: string;
  readonly logger: Logger;
}

/** The state scope mapping an entry id to where its referenced attachments are read back from. */
export const ATTACHMENT_OWNERS_SCOPE = 'pubsync:attachment-owners';

/** Which source object an entry with attachments by reference is, and where it was published. */
export interface AttachmentOwner {
  readonly source: string;
  readonly keys: readonly SourceKey[];
  readonly nodes: readonly string[];
}

export interface CapturedEntry {
  readonly seq: bigint;
  readonly entry: Entry;
  readonly nodes: readonly string[];
}

/**
 * The outbound stage: turns what a source saw into versioned entries and appends them to the
 * outbound log, in the same transaction as the captured object state and the source checkpoint,
 * so that a crash never loses a change and never captures one twice.
 */
export class Capture {
  readonly #options: CaptureOptions;

  constructor(options: CaptureOptions) {
    this.#options = options;
  }

  commit(source: string, batch: SourceBatch): CapturedEntry[] {
    const { store } = this.#options;
    return store.transaction(() => {
      const captured: CapturedEntry[] = [];
      for (const change of batch.changes) {
        const result = change.op === 'upsert' ? this.#upsert(source, change) : this.#delete(source, change);
        if (result) captured.push(result);
      }
      store.setCheckpoint(source, batch.checkpoint);
      return captured;
    });
  }

  #upsert(source: string, change: UpsertChange): CapturedEntry | undefined {
    const key = keyOf(change.keys);
    const before = this.#options.store.getCaptured(source, key);
    const children = change.children ?? [];
    const attachments = change.attachments ?? [];
    const hashes = hashParts(change.fields, children, attachments);
    const changed = changedParts(change, hashes, before);
    // A re-creation also removes what the object had before its delete: a peer that never saw the
    // delete (or sees it later, losing to this revision) must not keep those fields.
    const had = before ? Object.keys(before.deleted ? before.csns : before.hashes) : [];
    const removed = had.filter((part) => !(part in hashes));
    if (before && !before.deleted && changed.length === 0 && removed.length === 0) return undefined;

    const csn = this.#stamp(change.sourceCsn);
    const id = globalIdOf(change.globalId, before);
    const fresh = new Set(changed);
    const csnOf = (part: string): string => (fresh.has(part) || before?.deleted ? csn : (before?.csns[part] ?? csn));
    const fields: Field[] = [
      ...change.fields.map((field) => ({ ...field, csn: csnOf(field.name) }) as Field),
      // A field the object no longer has travels empty, with the CSN of its removal.
      ...removed.filter(isFieldPart).map((name): Field => ({ name, type: 'string', csn, values: [] })),
    ];
    const entry: ObjectEntry = {
      id,
      deleted: false,
      origin: this.#options.origin,
      type: change.type,
      tags: change.tags ?? [],
      keys: change.keys,
      csn,
      ...(change.title === undefined ? {} : { title: change.title }),
      fields,
      changed: before?.deleted ? [...Object.keys(hashes), ...removed] : [...changed, ...removed],
      children: children.map((child): Child => ({
        id: child.id,
        type: child.type,
        csn: csnOf(`child:${child.id}`),
        fields: child.fields.map((f) => ({ ...f, csn: csnOf(`child:${child.id}`) }) as Field),
      })),
      attachments: attachments.map((a) => this.#attachment(id, a, csnOf(`attachment:${a.name}`))),
    };
    const csns = Object.fromEntries(Object.keys(hashes).map((part) => [part, csnOf(part)]));
    const captured = this.#append(source, key, entry, { globalId: entry.id, hashes, csns, nodes: [], deleted: false });
    // The attachment service answers by entry id: remember which object it is and who may ask.
    if (entry.attachments.some((a) => a.href !== undefined)) {
      const owner: AttachmentOwner = { source, keys: change.keys, nodes: captured.nodes };
      this.#options.store.kvPut(ATTACHMENT_OWNERS_SCOPE, id, JSON.stringify(owner));
    } else if (before?.hashes && Object.keys(before.hashes).some((part) => part.startsWith('attachment:'))) {
      this.#options.store.kvDelete(ATTACHMENT_OWNERS_SCOPE, id);
    }
    return captured;
  }

  #delete(source: string, change: DeleteChange): CapturedEntry | undefined {
    const key = keyOf(change.keys);
    const before = this.#options.store.getCaptured(source, key);
    if (before?.deleted) return undefined;
    if (!before && change.globalId === undefined) {
      // No id was ever published for it, so no peer can hold it: there is nothing to tombstone.
      this.#options.logger.debug({ source, key }, 'delete of an object never captured, skipped');
      return undefined;
    }
    const id = globalIdOf(change.globalId, before);
    this.#options.store.kvDelete(ATTACHMENT_OWNERS_SCOPE, id);
    const entry: Entry = {
      id,
      deleted: true,
      origin: this.#options.origin,
      type: change.type,
      tags: [],
      keys: change.keys,
      csn: this.#stamp(change.sourceCsn),
    };
    return this.#append(source, key, entry, {
      globalId: entry.id,
      hashes: {},
      csns: before?.csns ?? {},
      nodes: before?.nodes ?? [],
      deleted: true,
    });
  }

  #append(source: string, key: string, entry: Entry, state: CapturedObject): CapturedEntry {
    const { store, router, serialize } = this.#options;
    // A tombstone goes exactly where the object was last published (its tags and fields are gone);
    // only a delete of an object this replica never captured is routed by its type.
    const nodes = entry.deleted && state.nodes.length > 0 ? state.nodes : router.route(entry, source);
    store.putCaptured(source, key, { ...state, nodes });
    const [seq] = store.appendOutbound([{ entryId: entry.id, csn: entry.csn, nodes, payload: serialize(entry) }]);
    if (seq === undefined) throw new Error('outbound log returned no sequence');
    return { seq, entry, nodes };
  }

  #stamp(sourceCsn: string | undefined): string {
    if (sourceCsn !== undefined) {
      try {
        this.#options.clock.observe(sourceCsn);
      } catch (error) {
        // A source whose own clock is far ahead must not drag ours with it: stamp with our time.
        this.#options.logger.warn({ err: error, sourceCsn }, 'source CSN not observed');
      }
    }
    return this.#options.clock.next();
  }

  #attachment(entryId: string, attachment: ChangeAttachment, csn: string): Attachment {
    const { inlineAttachmentBytes, origin, attachmentService } = this.#options;
    const sha256 = sha256Hex(attachment.data);
    const base = {
      name: attachment.name,
      contentType: attachment.contentType,
      length: attachment.data.length,
      sha256,
      csn,
    };
    if (attachment.data.length <= inlineAttachmentBytes) return { ...base, data: attachment.data };
    const jid = attachmentService ?? origin.jid;
    return { ...base, href: attachmentUri({ jid, entry: entryId, name: attachment.name, sha256 }) };
  }
}

function keyOf(keys: readonly SourceKey[]): string {
  const primary = keys[0];
  if (!primary) throw new Error('a change must carry at least one key');
  return `${primary.scheme}:${primary.value}`;
}

function globalIdOf(given: string | undefined, before: CapturedObject | undefined): string {
  if (given !== undefined) return given.startsWith('urn:uuid:') ? given.toLowerCase() : `urn:uuid:${given.toLowerCase()}`;
  return before?.globalId ?? `urn:uuid:${randomUUID()}`;
}

function changedParts(change: UpsertChange, hashes: Record<string, string>, before: CapturedObject | undefined): string[] {
  if (!before || before.deleted) return Object.keys(hashes);
  const differing = Object.keys(hashes).filter((part) => hashes[part] !== before.hashes[part]);
  if (!change.changed) return differing;
  // The source's exact list wins, but a part whose content differs from what we captured last is
  // changed whatever the source says (we may have missed a change while stopped).
  return [...new Set([...change.changed, ...differing])].filter((part) => part in hashes);
}

function isFieldPart(part: string): boolean {
  return !part.startsWith('child:') && !part.startsWith('attachment:');
}
