import type { Entry } from '../format/model.js';
import type { AppliedObject } from '../state/state-store.js';

/**
 * Per-field last-writer-wins by CSN. CSNs are totally ordered strings (time, counter, replica id,
 * modification number), so the replica id breaks ties deterministically and every replica that
 * sees the same set of revisions ends in the same state, in any order.
 */
export type MergeDecision =
  | { readonly action: 'apply'; readonly fields: readonly string[]; readonly next: Omit<AppliedObject, 'localKey'> }
  | { readonly action: 'delete'; readonly next: Omit<AppliedObject, 'localKey'> }
  | { readonly action: 'skip'; readonly reason: string };

export function merge(applied: AppliedObject | undefined, entry: Entry): MergeDecision {
  if (entry.deleted) return mergeTombstone(applied, entry.csn, entry.id);

  if (applied?.deleted) {
    // A delete beats every older revision: a late update must not bring the object back.
    if (entry.csn <= applied.csn) return { action: 'skip', reason: `older than the delete at ${applied.csn}` };
    // A newer revision re-creates the object: all of its fields win over the tombstone.
    return apply(entry, entry.fields.map((f) => f.name), {}, undefined);
  }

  const known = applied?.csns ?? {};
  const fields = entry.fields.filter((field) => newer(field.csn, known[field.name])).map((f) => f.name);
  const children = entry.children.filter((c) => newer(c.csn, known[`child:${c.id}`])).map((c) => `child:${c.id}`);
  const attachments = entry.attachments
    .filter((a) => newer(a.csn, known[`attachment:${a.name}`]))
    .map((a) => `attachment:${a.name}`);
  const winners = [...fields, ...children, ...attachments];
  if (applied && winners.length === 0) {
    return { action: 'skip', reason: `no field newer than what was applied (${applied.csn})` };
  }
  return apply(entry, winners, known, applied?.csn);
}

function mergeTombstone(applied: AppliedObject | undefined, csn: string, globalId: string): MergeDecision {
  if (applied) {
    // The delete must be newer than the object as a whole and than every field written since.
    const latest = Object.values(applied.csns).reduce((max, c) => (c > max ? c : max), applied.csn);
    if (csn <= latest) return { action: 'skip', reason: `the object changed at ${latest}, after the delete` };
  }
  return { action: 'delete', next: { globalId, csns: applied?.csns ?? {}, csn, deleted: true } };
}

function apply(
  entry: Extract<Entry, { deleted: false }>,
  winners: readonly string[],
  known: Readonly<Record<string, string>>,
  appliedCsn: string | undefined,
): MergeDecision {
  const csns: Record<string, string> = { ...known };
  const csnOf = new Map<string, string>([
    ...entry.fields.map((f) => [f.name, f.csn] as const),
    ...entry.children.map((c) => [`child:${c.id}`, c.csn] as const),
    ...entry.attachments.map((a) => [`attachment:${a.name}`, a.csn] as const),
  ]);
  for (const name of winners) csns[name] = csnOf.get(name) ?? entry.csn;
  return {
    action: 'apply',
    fields: winners,
    next: { globalId: entry.id, csns, csn: appliedCsn && appliedCsn > entry.csn ? appliedCsn : entry.csn, deleted: false },
  };
}

function newer(candidate: string, current: string | undefined): boolean {
  return current === undefined || candidate > current;
}
