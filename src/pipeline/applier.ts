import type { Logger } from 'pino';
import { ErrorCodes, SyncError, wrapPluginError } from '../errors/index.js';
import type { Attachment, Entry, ObjectEntry, SourceKey, TombstoneEntry } from '../format/model.js';
import type { AttachmentResolver } from './attachment-resolver.js';
import type { ApplyOutcome, Sink, SinkOperation, Transform } from '../plugin-api/roles.js';
import type { AppliedObject, CapturedObject, StateStore } from '../state/state-store.js';
import { parseEntry } from '../format/index.js';
import type { Overtaken } from './capture.js';
import { ALIAS_SCOPE, arrivingIsOlder, findCollision, renamedKey, type CollisionPolicy, type HeldObject } from './key-collision.js';
import { merge, partsOf, type MergeDecision } from './merge.js';
import { ABSENT, hashEntryParts } from './object-hash.js';
import type { SinkLock } from './sink-lock.js';
import type { SinkWrites } from './sink-writes.js';
import { combine, isAlive, survives, versionOfApplied, versionOfCaptured, type ObjectVersion } from './object-version.js';

/** Bytes of fetched attachments held before the operations so far are handed to the sink. */
const MAX_FETCHED_BYTES = 64 * 1024 * 1024;

export interface ApplierOptions {
  /** The subscription (where dead letters say they came from). */
  readonly subscription: string;
  readonly sinkName: string;
  readonly sink: Sink;
  /** The source that reads what this sink writes (the same application), if the config names one. */
  readonly linkedSource?: string;
  /** How two objects created independently under one key are resolved; "rename" when absent. */
  readonly collisions?: CollisionPolicy;
  /** Shared with that source's runner: it commits a batch only once the writes in flight are recorded. */
  readonly writes?: SinkWrites;
  /** Shared by every applier of the same sink: one decides and writes at a time. */
  readonly lock?: SinkLock;
  readonly transform?: Transform;
  readonly store: StateStore;
  readonly serialize: (entry: Entry) => string;
  readonly logger: Logger;
  /** Fetches attachments that came by reference before the sink sees them; without it they reach the sink as they came. */
  readonly attachments?: AttachmentResolver;
}

export interface ApplyReport {
  applied: number;
  skipped: number;
  conflicts: number;
  deadLettered: number;
}

/** The origin position a batch brings the subscription to, recorded with the batch's effects. */
export interface HighWater {
  readonly origin: string;
  readonly seq: bigint;
}

/**
 * The inbound stage for one subscription: transform, merge by CSN against what the sink applied
 * before, apply, and record the outcome. Every bad entry ends in the dead-letter store with its
 * reason; the rest of the batch goes on. A transient failure of the sink throws, and the caller
 * retries the whole batch, which is safe because apply is idempotent and merging skips what landed.
 */
export class Applier {
  readonly #options: ApplierOptions;

  constructor(options: ApplierOptions) {
    this.#options = options;
  }

  async apply(entries: readonly Entry[], signal: AbortSignal, highWater?: HighWater): Promise<ApplyReport> {
    const report: ApplyReport = { applied: 0, skipped: 0, conflicts: 0, deadLettered: 0 };
    const transformed = await this.#transform(entries, signal, report);
    await this.#serially(() => this.#mergeAndApply(transformed, signal, report, highWater));
    return report;
  }

  #serially<T>(fn: () => Promise<T>): Promise<T> {
    return this.#options.lock ? this.#options.lock.run(fn) : fn();
  }

  async #mergeAndApply(transformed: readonly Entry[], signal: AbortSignal, report: ApplyReport, highWater: HighWater | undefined): Promise<void> {
    let pending: Pending[] = [];
    let fetchedBytes = 0;
    // What this batch has decided so far: a later revision of the same object in the same batch
    // (or an older one, out of order) is merged against it, not against the state before the batch.
    const decided = new Map<string, Known>();
    for (const received of transformed) {
      let merged = this.#aliased(received);
      let known = decided.get(merged.id) ?? this.#known(merged.id);
      // An object new here whose key another object holds: two masters created it independently.
      const placement = merged.deleted || known.version !== undefined ? undefined : this.#collide(merged);
      if (placement) {
        merged = placement.entry;
        known = decided.get(merged.id) ?? this.#known(merged.id);
        if (placement.localKey !== undefined) known = { ...known, localKey: placement.localKey };
        if (placement.holds) known = { ...known, hashes: placement.holds };
        pending.push(...placement.before);
      }
      const erased = await this.#priorDelete(merged, known, signal, report);
      if (erased) {
        known = erased.known;
        decided.set(merged.id, known);
        if (erased.pending) pending.push(erased.pending);
      }
      const decision = merge(known.version, merged);
      if (decision.action === 'skip') {
        report.skipped++;
        continue;
      }
      let operation = await this.#operationOf(decision, merged, known, signal, report);
      if (!operation) continue;
      if (placement && placement.alsoRemove.length > 0) {
        operation = { ...operation, fields: [...new Set([...operation.fields, ...placement.alsoRemove])] };
      }
      decided.set(merged.id, { ...known, version: decision.next, hashes: hashesAfter(known.hashes, operation) });
      pending.push({ operation, next: decision.next, known });
      if (operation.entry !== merged) fetchedBytes += fetchedBytesOf(operation.entry);
      // Fetched attachments are held until the sink call: hand them over before they pile up.
      if (fetchedBytes >= MAX_FETCHED_BYTES) {
        await this.#applyAndRecord(pending, signal, report, undefined);
        [pending, fetchedBytes] = [[], 0];
      }
    }
    await this.#applyAndRecord(pending, signal, report, highWater);
  }

  /**
   * Writes the newest local parts of an object again, after the sink overwrote them with an older
   * peer value it had decided on before the local change was captured (see Capture.takeOvertaken).
   * The values come from the newest logged entry of the object; a part it lacks was removed.
   */
  async reassert(overtaken: readonly Overtaken[], signal: AbortSignal): Promise<void> {
    await this.#serially(() => this.#reassert(overtaken, signal));
  }

  async #reassert(overtaken: readonly Overtaken[], signal: AbortSignal): Promise<void> {
    const pending: Pending[] = [];
    for (const { globalId, parts } of overtaken) {
      const record = this.#options.store.latestOutbound(globalId);
      const logged = record ? parseEntry(record.payload) : undefined;
      const known = this.#known(globalId);
      if (!logged || !known.version) continue;
      if (logged.deleted) {
        const next = combine(known.version, { csns: {}, tombstone: logged.csn }) ?? known.version;
        pending.push({ operation: { entry: logged, fields: [], ...(known.localKey === undefined ? {} : { localKey: known.localKey }) }, next, known });
        continue;
      }
      // Only parts whose newest known version is the logged one: a peer's newer write stays.
      const loggedCsn = new Map(partsOf(logged));
      const wanted = new Set(
        parts.filter((part) => {
          const newestCsn = known.version?.csns[part];
          return loggedCsn.has(part) ? loggedCsn.get(part) === newestCsn : known.hashes[part] === undefined || known.hashes[part] === ABSENT;
        }),
      );
      if (wanted.size === 0) continue;
      const entry: ObjectEntry = {
        ...logged,
        fields: logged.fields.filter((f) => wanted.has(f.name)),
        children: logged.children.filter((c) => wanted.has(`child:${c.id}`)),
        attachments: logged.attachments.filter((a) => wanted.has(`attachment:${a.name}`)),
      };
      const localKey = known.localKey === undefined ? {} : { localKey: known.localKey };
      pending.push({ operation: { entry, fields: [...wanted], ...localKey }, next: known.version, known });
    }
    if (pending.length === 0) return;
    this.#options.logger.info({ objects: pending.length }, 'writing local changes again that a peer write overtook');
    await this.#applyAndRecord(pending, signal, { applied: 0, skipped: 0, conflicts: 0, deadLettered: 0 }, undefined);
  }

  /**
   * The delete a revision carries (ObjectEntry.tombstone), merged before it: a replica that missed
   * that delete still drops the parts older than it. Undefined when this replica knows it already.
   */
  async #priorDelete(entry: Entry, known: Known, signal: AbortSignal, report: ApplyReport): Promise<{ known: Known; pending?: Pending } | undefined> {
    if (entry.deleted || entry.tombstone === undefined) return undefined;
    if (known.version?.tombstone !== undefined && known.version.tombstone >= entry.tombstone) return undefined;
    const { version } = known;
    const deletedAt = entry.tombstone;
    // Nothing here to delete: the version only remembers it.
    if (version === undefined) return { known: { ...known, version: { csns: {}, tombstone: deletedAt } } };
    // The revision lives after that delete: the object stays (an LDAP entry keeps its name), only
    // its parts older than the delete go.
    const older = Object.entries(version.csns).filter(([, csn]) => csn <= deletedAt && survives(version, csn)).map(([part]) => part);
    const decision = { action: 'clear', fields: older, next: { ...version, tombstone: deletedAt } } as const;
    const tombstone: TombstoneEntry = { id: entry.id, deleted: true, origin: entry.origin, type: entry.type, tags: [], keys: entry.keys, csn: deletedAt };
    const operation = await this.#operationOf(decision, tombstone, known, signal, report);
    if (!operation) return undefined;
    return { known: { ...known, version: decision.next, hashes: hashesAfter(known.hashes, operation) }, pending: { operation, next: decision.next, known } };
  }

  /** The id an object goes by here: a collision may have merged it into another one. */
  #aliased(entry: Entry): Entry {
    const target = this.#options.store.kvGet(ALIAS_SCOPE, entry.id);
    return target === undefined ? entry : { ...entry, id: target };
  }

  /**
   * Detects and resolves a key collision (replication.collisions), the same way on every replica:
   * "merge" makes the newer object an alias of the older and merges their parts by CSN; "rename"
   * keeps the older under the key and gives the newer a key of its own (moving ours if it is the
   * newer). Every collision is recorded (pubsync status) and logged.
   */
  #collide(entry: ObjectEntry): Placement | undefined {
    const { store, sinkName, linkedSource, logger } = this.#options;
    const policy = this.#options.collisions ?? 'rename';
    const held = findCollision(store, sinkName, linkedSource, entry);
    if (!held) return undefined;
    const older = arrivingIsOlder(entry, held);
    const [olderId, newerId] = older ? [entry.id, held.globalId] : [held.globalId, entry.id];
    let placement: Placement;
    let resolution: string;
    if (policy === 'merge') {
      store.kvPut(ALIAS_SCOPE, newerId, olderId);
      if (older) this.#reidentify(held, olderId);
      placement = { entry: { ...entry, id: olderId }, before: [], alsoRemove: [] };
      resolution = `merged ${newerId} into ${olderId}`;
    } else if (!older) {
      const key = renamedKey(held.key, entry.id);
      placement = { entry, localKey: key, before: [], alsoRemove: [] };
      resolution = `the newer ${entry.id} placed under ${key}`;
    } else {
      const moved = held.local ? this.#moveOf(held) : undefined;
      if (moved) {
        const parts = Object.keys(held.version.csns);
        placement = {
          entry,
          localKey: held.key,
          // The key still holds our object's parts until the older one is written over them.
          holds: this.#known(held.globalId).hashes,
          before: [moved],
          alsoRemove: parts.filter((part) => !partsOf(entry).some(([p]) => p === part)),
        };
        resolution = `our newer ${held.globalId} moved to ${moved.operation.localKey}, the older ${entry.id} placed under ${held.key}`;
      } else {
        // A peer's newer object cannot be re-read here: the arriving one gets its own key instead.
        const key = renamedKey(held.key, entry.id);
        placement = { entry, localKey: key, before: [], alsoRemove: [] };
        resolution = `the older ${entry.id} placed under ${key}: the newer ${held.globalId} is a peer's and cannot be moved by this replica`;
      }
    }
    store.addConflict({
      kind: 'collision',
      where: `sink:${sinkName}`,
      globalId: entry.id,
      details: { key: held.key, other: held.globalId, policy, resolution, subscription: this.#options.subscription },
    });
    logger.warn({ key: held.key, arriving: entry.id, held: held.globalId, policy, resolution }, 'key collision');
    return placement;
  }

  /** Our newer object, as our log has it, written under its new key. */
  #moveOf(held: HeldObject): Pending | undefined {
    const record = this.#options.store.latestOutbound(held.globalId);
    const logged = record ? parseEntry(record.payload) : undefined;
    if (!logged || logged.deleted) return undefined;
    const known = this.#known(held.globalId);
    const localKey = renamedKey(held.key, held.globalId);
    return {
      operation: { entry: logged, fields: partsOf(logged).map(([part]) => part), localKey },
      next: known.version ?? held.version,
      known: { ...known, localKey, hashes: {} },
    };
  }

  /** The held object takes the older global id: its state moves to it. */
  #reidentify(held: HeldObject, globalId: string): void {
    const { store, sinkName, linkedSource } = this.#options;
    const applied = store.getApplied(sinkName, held.globalId);
    if (applied) store.putApplied(sinkName, { ...applied, globalId });
    const captured = linkedSource === undefined ? undefined : store.findCapturedByGlobalId(linkedSource, held.globalId);
    if (captured && linkedSource !== undefined) store.putCaptured(linkedSource, captured.key, { ...captured.object, globalId });
  }

  /**
   * What this replica holds of an object: what its sink applied and, when the sink names the
   * source of the same application, what that source captured (a local change not yet seen by
   * the peers must win over their older ones just the same).
   */
  #known(globalId: string): Known {
    const { store, sinkName, linkedSource } = this.#options;
    const applied = store.getApplied(sinkName, globalId);
    const capturedAt = linkedSource === undefined ? undefined : store.findCapturedByGlobalId(linkedSource, globalId);
    const captured = capturedAt?.object;
    const version = combine(applied ? versionOfApplied(applied) : undefined, captured ? versionOfCaptured(captured) : undefined);
    // The application holds only the parts of a living object written after its newest delete.
    const held = Object.entries(newestHashes(applied, captured)).filter(([part]) => isAlive(version) && survives(version, version?.csns[part] ?? ''));
    return {
      version,
      localKey: applied?.localKey,
      hashes: Object.fromEntries(held),
      ...(capturedAt ? { sourceKey: sourceKeyOf(capturedAt.key) } : {}),
    };
  }

  /** The sink operation for a decision; undefined when the entry was dead-lettered on the way. */
  async #operationOf(
    decision: Exclude<MergeDecision, { action: 'skip' }>,
    received: Entry,
    known: Known,
    signal: AbortSignal,
    report: ApplyReport,
  ): Promise<SinkOperation | undefined> {
    const localKey = known.localKey === undefined ? {} : { localKey: known.localKey };
    // An object of our own application the sink never wrote: the sink finds it by the key our
    // source gave it (a D-Bus note's id), which a peer's entry may not carry.
    const keyed = <E extends Entry>(entry: E): E => (known.localKey === undefined ? withKey(entry, known.sourceKey) : entry);
    switch (decision.action) {
      case 'delete':
        return { entry: keyed(received), fields: [], ...localKey, ...this.#expected(Object.keys(known.hashes), known) };
      case 'clear':
        return { entry: keyed(removalOf(received)), fields: decision.fields, removeOnly: true, ...localKey, ...this.#expected(decision.fields, known) };
      case 'apply': {
        const entry = await this.#withAttachments(keyed(decision.entry), known, signal, report);
        const outlived = received.deleted ? [] : received.fields.filter((field) => !decision.entry.fields.includes(field));
        return entry && { entry, fields: decision.fields, ...localKey, ...this.#expected(decision.fields, known), ...(outlived.length > 0 ? { outlived } : {}) };
      }
    }
  }

  /**
   * What the application should still hold in the parts to write (nothing, for a part never seen
   * here), so that the sink leaves a part the user changed since: that change is captured and
   * published as the newest. Only with a linked source: without one, no local change would ever
   * be published, and the sink must write what the peers decide.
   */
  #expected(parts: readonly string[], known: Known): { expected?: Readonly<Record<string, string>> } {
    if (this.#options.linkedSource === undefined || parts.length === 0) return {};
    return { expected: Object.fromEntries(parts.map((part) => [part, known.hashes[part] ?? ABSENT])) };
  }

  async #applyAndRecord(pending: readonly Pending[], signal: AbortSignal, report: ApplyReport, highWater: HighWater | undefined): Promise<void> {
    const { writes } = this.#options;
    if (writes) await writes.write(() => this.#applyAndRecordNow(pending, signal, report, highWater));
    else await this.#applyAndRecordNow(pending, signal, report, highWater);
  }

  async #applyAndRecordNow(pending: readonly Pending[], signal: AbortSignal, report: ApplyReport, highWater: HighWater | undefined): Promise<void> {
    const { store } = this.#options;
    // A removal with nothing left to remove changes nothing in the sink: only the state records it.
    const calls = pending.filter(({ operation }) => !(operation.removeOnly && operation.fields.length === 0));
    const outcomes = calls.length > 0 ? await this.#sinkApply(calls.map((p) => p.operation), signal) : [];
    const outcomeOf = new Map(calls.map((p, i) => [p, outcomes[i]]));
    store.transaction(() => {
      for (const item of pending) {
        this.#record(outcomeOf.get(item) ?? { status: 'skipped', reason: 'nothing to remove' }, item, report);
      }
      if (highWater) store.setHighWater(this.#options.subscription, highWater.origin, highWater.seq);
    });
  }

  #record(outcome: ApplyOutcome, { operation, next, known }: Pending, report: ApplyReport): void {
    const { store, sinkName, subscription } = this.#options;
    switch (outcome.status) {
      case 'applied':
      case 'skipped': {
        if (outcome.status === 'skipped' && operation.entry.deleted && this.#options.linkedSource !== undefined && known.version && isAlive(known.version)) {
          // Nothing to delete where the core believed the object alive: the application deleted it
          // itself. That delete, once captured, is published; recorded as ours, it would pass for
          // the echo of this one.
          report.skipped++;
          return;
        }
        // A sink that had nothing to do (already so) holds the decided state all the same.
        const localKey = outcome.status === 'applied' ? outcome.localKey : known.localKey;
        const left = outcome.status === 'applied' ? outcome.left ?? [] : [];
        const hashes = operation.entry.deleted ? hashesAfter(known.hashes, operation) : withLeft(hashesAfter(known.hashes, operation), known.hashes, left);
        store.putApplied(sinkName, appliedObjectOf(operation, next, localKey, hashes));
        if (outcome.status === 'skipped') {
          report.skipped++;
          return;
        }
        report.applied++;
        const keys = [outcome.localKey, ...operation.entry.keys.map((key) => key.value)];
        if (operation.entry.deleted && left.length > 0) {
          // A delete the application outlived (changed since): the sink removed only what the core
          // saw. What the source reports of the object next is that change, never a delete's echo.
          const removed = Object.keys(operation.expected ?? {}).filter((part) => !left.includes(part));
          this.#options.writes?.record(keys, { deleted: false, hashes: {} }, removed);
        } else if (operation.entry.deleted) {
          this.#options.writes?.record(keys, { deleted: true }, operation.fields);
        } else {
          // A part the sink left holds the user's change: not written, and no echo of ours.
          const echo = Object.fromEntries(Object.entries(hashes).filter(([part]) => !left.includes(part)));
          this.#options.writes?.record(keys, { deleted: false, hashes: echo }, operation.fields.filter((part) => !left.includes(part)));
        }
        return;
      }
      case 'conflict':
        store.addConflict({
          kind: 'conflict',
          where: `sink:${sinkName}`,
          globalId: operation.entry.id,
          details: { reason: outcome.reason, subscription, csn: operation.entry.csn },
        });
        this.#options.logger.warn({ entryId: operation.entry.id, reason: outcome.reason }, 'conflict in sink');
        report.conflicts++;
        return;
      case 'rejected':
        this.#deadLetter(operation.entry, outcome.code, outcome.reason, { ...outcome.details, sink: sinkName });
        report.deadLettered++;
        return;
    }
  }

  /**
   * The entry with the bytes of its attachments by reference, fetched from the origin; undefined
   * when one could not be had for good (the entry is dead-lettered). A transient failure throws.
   */
  async #withAttachments(entry: ObjectEntry, known: Known, signal: AbortSignal, report: ApplyReport): Promise<ObjectEntry | undefined> {
    const resolver = this.#options.attachments;
    if (!resolver) return entry;
    // The sink already holds the revision of an attachment it applied with the same CSN.
    const missing = (a: Attachment): boolean =>
      a.data === undefined && a.href !== undefined && known.version?.csns[`attachment:${a.name}`] !== a.csn;
    if (!entry.attachments.some(missing)) return entry;
    const attachments: Attachment[] = [];
    try {
      for (const attachment of entry.attachments) {
        attachments.push(missing(attachment) ? { ...attachment, data: await resolver.resolve(attachment, entry, signal) } : attachment);
      }
    } catch (error) {
      if (!isRecordFailure(error)) throw error;
      this.#deadLetter(entry, error.code, error.message, { ...error.details, stage: 'attachment' });
      report.deadLettered++;
      return undefined;
    }
    return { ...entry, attachments };
  }

  async #transform(entries: readonly Entry[], signal: AbortSignal, report: ApplyReport): Promise<readonly Entry[]> {
    const { transform } = this.#options;
    if (!transform) return entries;
    try {
      return await transform.apply(entries, signal);
    } catch (error) {
      if (!isRecordFailure(error) || entries.length === 0) throw error;
    }
    // The batch failed on some entry: run them one by one so only the bad ones are dead-lettered.
    const out: Entry[] = [];
    for (const entry of entries) {
      try {
        out.push(...(await transform.apply([entry], signal)));
      } catch (error) {
        if (!isRecordFailure(error)) throw error;
        this.#deadLetter(entry, error.code, error.message, { ...error.details, stage: 'transform' });
        report.deadLettered++;
      }
    }
    return out;
  }

  async #sinkApply(operations: readonly SinkOperation[], signal: AbortSignal): Promise<readonly ApplyOutcome[]> {
    try {
      return await this.#sinkCall(operations, signal);
    } catch (error) {
      if (!isRecordFailure(error)) throw error;
      if (operations.length === 1) return [rejected(error)];
    }
    // A sink that throws a record error for a batch: find the bad operations one by one.
    const outcomes: ApplyOutcome[] = [];
    for (const operation of operations) {
      try {
        outcomes.push(...(await this.#sinkCall([operation], signal)));
      } catch (error) {
        if (!isRecordFailure(error)) throw error;
        outcomes.push(rejected(error));
      }
    }
    return outcomes;
  }

  async #sinkCall(operations: readonly SinkOperation[], signal: AbortSignal): Promise<readonly ApplyOutcome[]> {
    const { sink, sinkName } = this.#options;
    let outcomes: readonly ApplyOutcome[];
    try {
      outcomes = await sink.apply(operations, signal);
    } catch (error) {
      throw wrapPluginError(error, `sink:${sinkName}`, 'apply');
    }
    if (outcomes.length !== operations.length) {
      throw new SyncError(
        ErrorCodes.PLUGIN_INVALID,
        'transient',
        `sink returned ${outcomes.length} outcomes for ${operations.length} operations`,
        { plugin: `sink:${sinkName}` },
      );
    }
    return outcomes;
  }

  #deadLetter(entry: Entry, code: string, message: string, details: Record<string, unknown>): void {
    const { store, subscription, serialize, logger } = this.#options;
    store.addDeadLetter({
      where: `subscription:${subscription}`,
      entryId: entry.id,
      payload: serialize(entry),
      code,
      message,
      details,
    });
    logger.warn({ entryId: entry.id, code, reason: message }, 'entry dead-lettered');
  }
}

/** What the applier knows of an object before deciding: its version, the sink's key and hashes. */
interface Known {
  readonly version: ObjectVersion | undefined;
  readonly localKey: string | undefined;
  readonly hashes: Readonly<Record<string, string>>;
  /** The primary key the linked source gave the object, when it captured it. */
  readonly sourceKey?: SourceKey;
}

/** A captured object's primary key ("scheme:value") as a SourceKey. */
function sourceKeyOf(key: string): SourceKey {
  const at = key.indexOf(':');
  return { scheme: key.slice(0, at), value: key.slice(at + 1) };
}

/** The entry with this key first (a sink that derives its key from the entry's keys finds it). */
function withKey<E extends Entry>(entry: E, key: SourceKey | undefined): E {
  if (!key || entry.keys.some((k) => k.scheme === key.scheme && k.value === key.value)) return entry;
  return { ...entry, keys: [key, ...entry.keys.filter((k) => k.scheme !== key.scheme)] };
}

/** Where a colliding object goes: its id, its key, what must move first, what it must not keep. */
interface Placement {
  readonly entry: ObjectEntry;
  readonly localKey?: string;
  /** What the application holds under that key now (the hashes of the object moved away). */
  readonly holds?: Readonly<Record<string, string>>;
  readonly before: readonly Pending[];
  readonly alsoRemove: readonly string[];
}

interface Pending {
  readonly operation: SinkOperation;
  readonly next: ObjectVersion;
  readonly known: Known;
}

/** The entry a sink gets for a delete that lost to newer parts: the object, with no parts of its own. */
function removalOf(tombstone: Entry): ObjectEntry {
  return { ...tombstone, deleted: false, tags: [], fields: [], changed: [], children: [], attachments: [] };
}

/** The hash of each part as the application holds it: from the sink's last write or the source's last capture, whichever is newer. */
function newestHashes(applied: AppliedObject | undefined, captured: CapturedObject | undefined): Record<string, string> {
  const hashes: Record<string, string> = { ...applied?.hashes };
  if (!captured || captured.deleted) return hashes;
  // A part captured more recently than the sink wrote it holds what capture saw ("" once removed).
  for (const part of new Set([...Object.keys(captured.hashes), ...Object.keys(captured.csns)])) {
    const appliedCsn = applied?.csns[part];
    if (hashes[part] === undefined || appliedCsn === undefined || (captured.csns[part] ?? '') > appliedCsn) {
      hashes[part] = captured.hashes[part] ?? ABSENT;
    }
  }
  return hashes;
}

/** A part the sink left (ApplyOutcome.left) holds what it held before as far as the core knows. */
function withLeft(after: Record<string, string>, before: Readonly<Record<string, string>>, left: readonly string[]): Record<string, string> {
  if (left.length === 0) return after;
  const hashes = { ...after };
  for (const part of left) {
    const held = before[part];
    if (held === undefined) delete hashes[part];
    else hashes[part] = held;
  }
  return hashes;
}

function hashesAfter(before: Readonly<Record<string, string>>, operation: SinkOperation): Record<string, string> {
  if (operation.entry.deleted) return {};
  return { ...before, ...hashEntryParts(operation.entry, operation.fields) };
}

function appliedObjectOf(
  operation: SinkOperation,
  next: ObjectVersion,
  localKey: string | undefined,
  hashes: Readonly<Record<string, string>>,
): AppliedObject {
  const alive = isAlive(next);
  return {
    globalId: operation.entry.id,
    localKey,
    csns: next.csns,
    csn: (alive ? next.revision : next.tombstone) ?? operation.entry.csn,
    deleted: !alive,
    ...(next.tombstone === undefined ? {} : { tombstone: next.tombstone }),
    ...(alive ? { hashes } : {}),
  };
}

function fetchedBytesOf(entry: Entry): number {
  if (entry.deleted) return 0;
  return entry.attachments.reduce((n, a) => n + (a.href === undefined ? 0 : (a.data?.length ?? 0)), 0);
}

function rejected(error: SyncError): ApplyOutcome {
  return { status: 'rejected', code: error.code, reason: error.message, details: error.details };
}

function isRecordFailure(error: unknown): error is SyncError {
  return error instanceof SyncError && error.kind === 'record';
}
