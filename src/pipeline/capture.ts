import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Attachment, Child, Entry, Field, ObjectEntry, Origin, SourceKey } from '../format/model.js';
import type { ChangeAttachment, DeleteChange, SourceBatch, UpsertChange } from '../plugin-api/change.js';
import type { AppliedObject, CapturedObject, StateStore } from '../state/state-store.js';
import { attachmentUri } from '../format/attachment-uri.js';
import { parseEntry } from '../format/index.js';
import { ABSENT, hashParts, sha256Hex } from './object-hash.js';
import { combine, isAlive, newest, versionOfApplied, versionOfCaptured, type ObjectVersion } from './object-version.js';
import { baselineOf, changedParts, sinkWriteEffects, type Baseline, type LaterWrites } from './baseline.js';
import { ALIAS_SCOPE } from './key-collision.js';
import type { Router } from './router.js';
import type { SinkWrites } from './sink-writes.js';

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
  /** Source name to the sink that writes into the same application (config: a sink's `source`). */
  readonly linkedSinks?: ReadonlyMap<string, string>;
  /** Source name to the writes of that sink, to know their echoes. */
  readonly writes?: ReadonlyMap<string, SinkWrites>;
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

/** An object whose newer local parts (none: its local delete) the linked sink overwrote with older ones. */
export interface Overtaken {
  readonly globalId: string;
  readonly parts: readonly string[];
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
  /** Per source: objects whose newer local parts our sink overwrote (see takeOvertaken). */
  readonly #overtaken = new Map<string, Overtaken[]>();

  constructor(options: CaptureOptions) {
    this.#options = options;
  }

  /**
   * `readAt` is the linked sink's write count (SinkWrites.epoch) when the batch was asked for: what
   * the sink wrote after that may not show in the batch, and is not undone by it.
   */
  commit(source: string, batch: SourceBatch, readAt?: number): CapturedEntry[] {
    const { store } = this.#options;
    const writes = readAt === undefined ? undefined : this.#options.writes?.get(source);
    return store.transaction(() => {
      const captured: CapturedEntry[] = [];
      for (const change of batch.changes) {
        const keys = change.keys.map((k) => k.value);
        const later = readAt === undefined ? undefined : writes?.writtenSince(keys, readAt);
        const result = change.op === 'upsert' ? this.#upsert(source, change, later) : this.#delete(source, change, later);
        if (result) captured.push(result);
        if (readAt !== undefined) writes?.readBy(keys, readAt);
      }
      if (batch.caughtUp && readAt !== undefined) writes?.caughtUp(readAt, batch.changes.flatMap((change) => change.keys.map((k) => k.value)));
      store.setCheckpoint(source, batch.checkpoint);
      return captured;
    });
  }

  /**
   * The objects of this source whose local change, made while our sink was writing the same
   * parts for a peer, was overwritten by that older write: the sink must write the local parts
   * again (Applier.reassert). Cleared by the call.
   */
  takeOvertaken(source: string): Overtaken[] {
    const taken = this.#overtaken.get(source) ?? [];
    this.#overtaken.delete(source);
    return taken;
  }

  #upsert(source: string, change: UpsertChange, later?: LaterWrites): CapturedEntry | undefined {
    // Our sink deleted the object after this state was read: the state is gone from the application.
    if (later?.deleted) return undefined;
    const key = keyOf(change.keys);
    const stored = this.#options.store.getCaptured(source, key);
    const written = this.#writtenBySink(source, change.keys);
    // What the application holds is, first, what our sink wrote there for a peer's object; and an
    // object re-created where our sink deleted one is that object again, as a CouchDB document
    // re-created under its _id is, even when the application gave it a new id (an LDAP entryUUID).
    const revived = written !== undefined && (!written.deleted || stored === undefined || stored.deleted);
    // An object captured before keeps the id it was published under, whatever id the application
    // gives it (an LDAP entry our sink created goes by the peer's id, not by its entryUUID).
    const id = this.#aliased(revived ? written.globalId : (stored?.globalId ?? globalIdOf(change.globalId, undefined)));
    const before = stored?.globalId === id ? stored : undefined;
    // What our sink wrote counts, its delete too: an object shown after that delete lives again.
    const base = baselineOf(before, written?.globalId === id ? written : undefined);
    const children = change.children ?? [];
    const attachments = change.attachments ?? [];
    const hashes = hashParts(change.fields, children, attachments);
    const keyValues = change.keys.map((k) => k.value);
    const sinkState = written && !written.deleted && written.globalId === id ? written : undefined;
    // A state our sink wrote (the last one, or an earlier one a source that reports every write
    // reports late): nothing the application changed itself.
    if (this.#options.writes?.get(source)?.isEcho(keyValues, { deleted: false, hashes })) {
      if (stored && sinkState?.hashes && samePresent(hashes, sinkState.hashes)) this.#remember(source, key, id, hashes, base, before, keyValues);
      return undefined;
    }
    const recreated = !isAlive(base.version);
    const effects = sinkWriteEffects(hashes, base, before, sinkState, later, this.#options.writes?.get(source)?.writtenSinceRead(keyValues));
    const overtaken = effects.overtaken;
    const changed = (recreated ? Object.keys(hashes) : changedParts(change, hashes, base)).filter((part) => !overtaken(part));
    // Written back into the application once logged: what our sink's write overwrote, and the
    // local changes it overtook that this capture publishes.
    const rewrite = [...effects.lost, ...effects.clobbered.filter((part) => changed.includes(part))];
    if (rewrite.length > 0) this.#overtaken.set(source, [...(this.#overtaken.get(source) ?? []), { globalId: id, parts: rewrite }]);
    // A part the object had and no longer has travels empty: a peer must drop it too. A re-creation
    // also removes what the object had before its delete, for a peer that never saw the delete.
    const had = recreated ? Object.keys((before?.deleted ? before.csns : before?.hashes) ?? {}) : base.present();
    const removed = had.filter((part) => !(part in hashes) && !overtaken(part));
    // An overtaken part stays as we hold it.
    for (const part of [...(later?.parts ?? []), ...effects.lost].filter(overtaken)) {
      const known = base.hashes[part];
      if (known === undefined || known === ABSENT) delete hashes[part];
      else hashes[part] = known;
    }
    if (!recreated && changed.length === 0 && removed.length === 0) {
      // Nothing new, typically the echo of what our sink wrote: remember it as what the source holds.
      if (stored?.globalId !== id || !sameRecord(stored.csns, base.csns) || !sameRecord(stored.hashes, hashes)) {
        this.#remember(source, key, id, hashes, base, before, keyValues);
      }
      return undefined;
    }

    const csn = this.#stamp(change.sourceCsn);
    const fresh = new Set([...changed, ...removed]);
    const csnOf = (part: string): string => (fresh.has(part) || recreated ? csn : (base.csns[part] ?? csn));
    // An overtaken part is left out: its value here is older than the one our sink wrote.
    const fields: Field[] = [
      ...change.fields.filter((field) => !overtaken(field.name)).map((field) => ({ ...field, csn: csnOf(field.name) }) as Field),
      // A field the object no longer has travels empty, with the CSN of its removal.
      ...removed.filter(isFieldPart).map((name): Field => ({ name, type: 'string', csn, values: [] })),
      // And so does one removed earlier: every entry is the object's whole state, so a peer that
      // missed the removal (a snapshot, a log compacted past it) still drops an older value.
      ...(recreated ? [] : Object.keys(base.csns))
        .filter((part) => isFieldPart(part) && !(part in hashes) && !fresh.has(part) && !overtaken(part))
        .map((name): Field => ({ name, type: 'string', csn: base.csns[name] ?? csn, values: [] })),
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
      changed: recreated ? [...Object.keys(hashes), ...removed] : [...changed, ...removed],
      children: children.filter((child) => !overtaken(`child:${child.id}`)).map((child): Child => ({
        id: child.id,
        type: child.type,
        csn: csnOf(`child:${child.id}`),
        fields: child.fields.map((f) => ({ ...f, csn: csnOf(`child:${child.id}`) }) as Field),
      })),
      attachments: attachments
        .filter((a) => !overtaken(`attachment:${a.name}`))
        .map((a) => this.#attachment(id, a, csnOf(`attachment:${a.name}`))),
      ...tombstoneOf(base.version),
    };
    // Parts removed earlier keep their CSN: a peer's older value of them must still lose.
    const csns = {
      ...(recreated ? {} : base.csns),
      ...Object.fromEntries([...Object.keys(hashes), ...removed].map((part) => [part, csnOf(part)])),
    };
    const captured = this.#append(source, key, entry, {
      globalId: entry.id,
      hashes,
      csns,
      nodes: before?.nodes ?? [],
      deleted: false,
      ...tombstoneOf(base.version),
      keys: keyValues,
    });
    // The attachment service answers by entry id: remember which object it is and who may ask.
    if (entry.attachments.some((a) => a.href !== undefined)) {
      const owner: AttachmentOwner = { source, keys: change.keys, nodes: captured.nodes };
      this.#options.store.kvPut(ATTACHMENT_OWNERS_SCOPE, id, JSON.stringify(owner));
    } else if (stored?.hashes && Object.keys(stored.hashes).some((part) => part.startsWith('attachment:'))) {
      this.#options.store.kvDelete(ATTACHMENT_OWNERS_SCOPE, id);
    }
    return captured;
  }

  #delete(source: string, change: DeleteChange, later?: LaterWrites): CapturedEntry | undefined {
    const key = keyOf(change.keys);
    const before = this.#options.store.getCaptured(source, key);
    const written = this.#writtenBySink(source, change.keys);
    const known = before ? versionOfCaptured(before) : undefined;
    if (this.#options.writes?.get(source)?.isEcho(change.keys.map((k) => k.value), { deleted: true })) return undefined;
    if (written?.deleted && (before === undefined || before.globalId === written.globalId)) {
      const sinkDelete = versionOfApplied(written).tombstone;
      // Our sink deleted it for a peer (a delete newer than anything captured here): the echo.
      if (sinkDelete !== undefined && !isAlive(combine(known, { csns: {}, tombstone: sinkDelete }))) {
        this.#options.store.putCaptured(source, key, {
          globalId: written.globalId,
          hashes: {},
          csns: before?.csns ?? {},
          nodes: before?.nodes ?? [],
          deleted: true,
          tombstone: newest([sinkDelete, known?.tombstone]) ?? sinkDelete,
          keys: change.keys.map((k) => k.value),
        });
        return undefined;
      }
    }
    // An object our sink wrote for a peer goes by the peer's id (an LDAP entry the sink created
    // has an entryUUID of its own); one captured here by the id it was published under.
    const held = written && !written.deleted ? written.globalId : before && !before.deleted ? before.globalId : undefined;
    if (before?.deleted && held === undefined) return undefined;
    if (held === undefined && change.globalId === undefined) {
      // No id was ever published for it, so no peer can hold it: there is nothing to tombstone.
      this.#options.logger.debug({ source, key }, 'delete of an object never captured, skipped');
      return undefined;
    }
    const id = this.#aliased(held ?? globalIdOf(change.globalId, before));
    // A source may not know what it deleted (a CouchDB tombstone has no properties): the peers
    // know the object by the type it was last published with, and their stylesheets match on it.
    const published = held === undefined ? undefined : this.#options.store.latestOutbound(id);
    const type = published ? parseEntry(published.payload).type : change.type;
    // Our sink wrote the object after this delete may have been read: whichever came first, the
    // delete is the newest change, so the sink deletes again what its write may have brought back.
    if (later && !later.deleted) this.#overtaken.set(source, [...(this.#overtaken.get(source) ?? []), { globalId: id, parts: [] }]);
    this.#options.store.kvDelete(ATTACHMENT_OWNERS_SCOPE, id);
    const entry: Entry = {
      id,
      deleted: true,
      origin: this.#options.origin,
      type,
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
      tombstone: entry.csn,
      keys: change.keys.map((k) => k.value),
    });
  }

  /** The id an object goes by: a key collision may have merged it into an older one. */
  #aliased(globalId: string): string {
    return this.#options.store.kvGet(ALIAS_SCOPE, globalId) ?? globalId;
  }

  /** Records an unchanged object as the source now shows it: what the next change is diffed against. */
  #remember(
    source: string,
    key: string,
    globalId: string,
    hashes: Readonly<Record<string, string>>,
    base: Baseline,
    before: CapturedObject | undefined,
    keys: readonly string[],
  ): void {
    this.#options.store.putCaptured(source, key, {
      globalId,
      hashes,
      csns: base.csns,
      nodes: before?.nodes ?? [],
      deleted: false,
      ...tombstoneOf(base.version),
      keys,
    });
  }

  /** What the sink of the same application last wrote at one of these keys, if a sink is linked. */
  #writtenBySink(source: string, keys: readonly SourceKey[]): AppliedObject | undefined {
    const sink = this.#options.linkedSinks?.get(source);
    if (sink === undefined) return undefined;
    for (const key of keys) {
      const applied = this.#options.store.findAppliedByKey(sink, key.value);
      if (applied) return applied;
    }
    return undefined;
  }

  #append(source: string, key: string, entry: Entry, state: CapturedObject): CapturedEntry {
    const { store, router, serialize } = this.#options;
    // A tombstone goes exactly where the object was last published (its tags and fields are gone);
    // only a delete of an object this replica never captured is routed by its type.
    const nodes = entry.deleted && state.nodes.length > 0 ? state.nodes : router.route(entry, source);
    store.putCaptured(source, key, { ...state, nodes });
    const [seq] = store.appendOutbound([{ entryId: entry.id, csn: entry.csn, nodes, payload: serialize(entry), tombstone: entry.deleted }]);
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

function tombstoneOf(version: ObjectVersion | undefined): { tombstone?: string } {
  return version?.tombstone === undefined ? {} : { tombstone: version.tombstone };
}

function samePresent(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const present = (hashes: Readonly<Record<string, string>>): Record<string, string> =>
    Object.fromEntries(Object.entries(hashes).filter(([, hash]) => hash !== ABSENT));
  return sameRecord(present(a), present(b));
}

function sameRecord(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

function isFieldPart(part: string): boolean {
  return !part.startsWith('child:') && !part.startsWith('attachment:');
}
