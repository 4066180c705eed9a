import type { AppliedObject, CapturedObject } from '../state/state-store.js';

/**
 * What a replica knows of one object's history: the CSN of every part (field, "child:<id>",
 * "attachment:<name>"), of its newest revision and of its newest delete. An object is alive when
 * its newest revision is newer than its newest delete, and then only the parts written after that
 * delete are visible: that rule is what makes a delete concurrent with an edit converge.
 */
export interface ObjectVersion {
  readonly csns: Readonly<Record<string, string>>;
  readonly revision?: string;
  readonly tombstone?: string;
}

export function isAlive(version: ObjectVersion | undefined): boolean {
  return version?.revision !== undefined && (version.tombstone === undefined || version.revision > version.tombstone);
}

/** A part written at `csn` survives the object's newest delete. */
export function survives(version: ObjectVersion | undefined, csn: string): boolean {
  return version?.tombstone === undefined || csn > version.tombstone;
}

export function versionOfApplied(applied: AppliedObject): ObjectVersion {
  // Rows written before tombstones were kept apart hold the tombstone's CSN in `csn` when deleted.
  const tombstone = applied.tombstone ?? (applied.deleted ? applied.csn : undefined);
  const revision = applied.deleted ? newest(Object.values(applied.csns)) : applied.csn;
  return withOptional(applied.csns, revision, tombstone);
}

export function versionOfCaptured(captured: CapturedObject): ObjectVersion {
  const revision = newest(Object.values(captured.csns));
  // A delete captured before tombstones were recorded is newer than everything the object had.
  const tombstone = captured.tombstone ?? (captured.deleted ? revision : undefined);
  return withOptional(captured.csns, revision, tombstone);
}

/**
 * What two records of the same object know together (what its sink applied and what its source
 * captured): the newest of each CSN. Commutative, associative and idempotent.
 */
export function combine(a: ObjectVersion | undefined, b: ObjectVersion | undefined): ObjectVersion | undefined {
  if (!a || !b) return a ?? b;
  const csns: Record<string, string> = { ...a.csns };
  for (const [part, csn] of Object.entries(b.csns)) csns[part] = newest([csns[part], csn]) ?? csn;
  return withOptional(csns, newest([a.revision, b.revision]), newest([a.tombstone, b.tombstone]));
}

export function newest(csns: readonly (string | undefined)[]): string | undefined {
  let max: string | undefined;
  for (const csn of csns) if (csn !== undefined && (max === undefined || csn > max)) max = csn;
  return max;
}

function withOptional(csns: Readonly<Record<string, string>>, revision: string | undefined, tombstone: string | undefined): ObjectVersion {
  return { csns, ...(revision === undefined ? {} : { revision }), ...(tombstone === undefined ? {} : { tombstone }) };
}
