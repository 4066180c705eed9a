import type { Entry, ObjectEntry } from '../format/model.js';
import { isAlive, newest, survives, type ObjectVersion } from './object-version.js';

/**
 * Per-field last-writer-wins by CSN, with deletes. CSNs are totally ordered strings (time,
 * counter, replica id, modification number), so the replica id breaks ties deterministically.
 * The rule for deletes: an object is alive when its newest revision is newer than its newest
 * delete, and only parts written after that delete survive. A replica that holds the same set of
 * revisions and deletes ends in the same state, in any order, however often each arrives.
 */
export type MergeDecision =
  /** Write `fields` of `entry` (the entry without the parts the newest delete killed). */
  | { readonly action: 'apply'; readonly fields: readonly string[]; readonly entry: ObjectEntry; readonly next: ObjectVersion }
  /** A delete that lost to newer parts: the object lives on, but these older parts go. */
  | { readonly action: 'clear'; readonly fields: readonly string[]; readonly next: ObjectVersion }
  | { readonly action: 'delete'; readonly next: ObjectVersion }
  | { readonly action: 'skip'; readonly reason: string };

export function merge(current: ObjectVersion | undefined, entry: Entry): MergeDecision {
  return entry.deleted ? mergeTombstone(current, entry.csn) : mergeRevision(current, entry);
}

function mergeTombstone(current: ObjectVersion | undefined, csn: string): MergeDecision {
  if (current?.tombstone !== undefined && csn <= current.tombstone) {
    return { action: 'skip', reason: `already deleted at ${current.tombstone}` };
  }
  const next: ObjectVersion = { csns: current?.csns ?? {}, ...(current?.revision ? { revision: current.revision } : {}), tombstone: csn };
  if (!isAlive(next)) return { action: 'delete', next };
  // Parts the previous delete already removed are not removed twice.
  const older = Object.entries(next.csns).filter(([, partCsn]) => partCsn <= csn && survives(current, partCsn));
  return { action: 'clear', fields: older.map(([part]) => part), next };
}

function mergeRevision(current: ObjectVersion | undefined, entry: ObjectEntry): MergeDecision {
  if (!survives(current, entry.csn)) return { action: 'skip', reason: `older than the delete at ${current?.tombstone}` };
  const visible = withoutDeadParts(entry, current);
  const alive = isAlive(current);
  const known = alive ? (current?.csns ?? {}) : {};
  // A (re-)created object gets every surviving part; a living one the parts newer than its own.
  const winners = partsOf(visible).filter(([part, csn]) => !alive || newer(csn, known[part])).map(([part]) => part);
  if (alive && winners.length === 0) {
    return { action: 'skip', reason: `no part newer than what this replica holds (${current?.revision})` };
  }
  const csns: Record<string, string> = { ...current?.csns };
  const csnOf = new Map(partsOf(visible));
  for (const part of winners) csns[part] = csnOf.get(part) ?? entry.csn;
  const revision = newest([current?.revision, entry.csn]) ?? entry.csn;
  const next: ObjectVersion = { csns, revision, ...(current?.tombstone ? { tombstone: current.tombstone } : {}) };
  return { action: 'apply', fields: winners, entry: visible, next };
}

/** Every part of the entry by name ("child:<id>", "attachment:<name>" for the non-fields) with its CSN. */
export function partsOf(entry: ObjectEntry): [string, string][] {
  return [
    ...entry.fields.map((f): [string, string] => [f.name, f.csn]),
    ...entry.children.map((c): [string, string] => [`child:${c.id}`, c.csn]),
    ...entry.attachments.map((a): [string, string] => [`attachment:${a.name}`, a.csn]),
  ];
}

function withoutDeadParts(entry: ObjectEntry, current: ObjectVersion | undefined): ObjectEntry {
  if (current?.tombstone === undefined) return entry;
  const live = (part: { csn: string }): boolean => survives(current, part.csn);
  if (entry.fields.every(live) && entry.children.every(live) && entry.attachments.every(live)) return entry;
  return {
    ...entry,
    fields: entry.fields.filter(live),
    children: entry.children.filter(live),
    attachments: entry.attachments.filter(live),
  };
}

function newer(candidate: string, current: string | undefined): boolean {
  return current === undefined || candidate > current;
}
