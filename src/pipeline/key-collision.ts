import type { ObjectEntry } from '../format/model.js';
import type { StateStore } from '../state/state-store.js';
import { partsOf } from './merge.js';
import { isAlive, versionOfApplied, versionOfCaptured, type ObjectVersion } from './object-version.js';

/** How two objects created independently under the same natural key are resolved (config: replication.collisions). */
export type CollisionPolicy = 'rename' | 'merge';

/** Global ids that were merged into another one (the newer of two colliding objects → the older). */
export const ALIAS_SCOPE = 'pubsync:alias';

/** The object already held under the key an arriving object claims. */
export interface HeldObject {
  readonly globalId: string;
  /** The key value both claim (the held object's local key in the sink). */
  readonly key: string;
  readonly version: ObjectVersion;
  /** Where the held object's content can be read: captured by our own source, so it is in our log. */
  readonly local: boolean;
}

/**
 * The live object this replica holds under one of the arriving object's keys with another global
 * id: two masters created "the same" object independently (the Dovecot seed's UID conflict).
 */
export function findCollision(
  store: StateStore,
  sinkName: string,
  linkedSource: string | undefined,
  entry: ObjectEntry,
): HeldObject | undefined {
  for (const { value } of entry.keys) {
    const applied = store.findAppliedByKey(sinkName, value);
    if (applied && !applied.deleted && applied.globalId !== entry.id) {
      const captured = linkedSource === undefined ? undefined : store.findCapturedByGlobalId(linkedSource, applied.globalId);
      return { globalId: applied.globalId, key: applied.localKey ?? value, version: versionOfApplied(applied), local: captured !== undefined };
    }
    if (linkedSource === undefined) continue;
    const captured = store.findCapturedByKeyValue(linkedSource, value);
    if (captured && !captured.object.deleted && captured.object.globalId !== entry.id) {
      const version = versionOfCaptured(captured.object);
      if (isAlive(version)) return { globalId: captured.object.globalId, key: value, version, local: true };
    }
  }
  return undefined;
}

/**
 * Whether the arriving object is the older of the two, the same answer on every replica: the
 * older is the one whose oldest part was written first (its creation, as far as the parts tell),
 * the smaller global id on a tie.
 */
export function arrivingIsOlder(entry: ObjectEntry, held: HeldObject): boolean {
  const arriving = oldest([entry.csn, ...partsOf(entry).map(([, csn]) => csn)]);
  const holding = oldest(Object.values(held.version.csns)) ?? held.version.revision;
  if (arriving === undefined || holding === undefined || arriving === holding) return entry.id < held.globalId;
  return arriving < holding;
}

/** The key the newer of two colliding objects gets: the same on every replica. */
export function renamedKey(key: string, globalId: string): string {
  const suffix = globalId.replace(/^urn:uuid:/i, '').replace(/-/g, '').slice(0, 8);
  return `${key}~${suffix}`;
}

function oldest(csns: readonly string[]): string | undefined {
  let min: string | undefined;
  for (const csn of csns) if (min === undefined || csn < min) min = csn;
  return min;
}
