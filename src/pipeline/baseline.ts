import type { UpsertChange } from '../plugin-api/change.js';
import type { AppliedObject, CapturedObject } from '../state/state-store.js';
import { ABSENT } from './object-hash.js';
import { combine, survives, versionOfApplied, versionOfCaptured, type ObjectVersion } from './object-version.js';
import type { SinkWrites } from './sink-writes.js';

/**
 * What the application held before this change, part by part: what the source last captured or
 * what the sink last wrote there, whichever is newer. Parts older than the object's newest delete
 * are gone.
 */
export interface Baseline {
  readonly version: ObjectVersion | undefined;
  readonly csns: Readonly<Record<string, string>>;
  readonly hashes: Readonly<Record<string, string>>;
  /** Parts whose newest record came from the sink. */
  readonly written: ReadonlySet<string>;
  /** Parts the application holds (not removed). */
  present(): string[];
}

export function baselineOf(captured: CapturedObject | undefined, applied: AppliedObject | undefined): Baseline {
  const version = combine(captured ? versionOfCaptured(captured) : undefined, applied ? versionOfApplied(applied) : undefined);
  const csns: Record<string, string> = {};
  const hashes: Record<string, string> = {};
  const written = new Set<string>();
  for (const [part, csn] of Object.entries(version?.csns ?? {})) {
    if (!survives(version, csn)) continue;
    const fromSink = applied?.hashes?.[part] !== undefined && applied.csns[part] === csn && csn !== captured?.csns[part];
    const hash = fromSink ? applied?.hashes?.[part] : captured?.hashes[part];
    csns[part] = csn;
    if (hash !== undefined) hashes[part] = hash;
    if (fromSink) written.add(part);
  }
  return {
    version,
    csns,
    hashes,
    written,
    present: () => Object.keys(hashes).filter((part) => hashes[part] !== ABSENT),
  };
}

export function changedParts(change: UpsertChange, hashes: Record<string, string>, base: Baseline): string[] {
  const differing = Object.keys(hashes).filter((part) => hashes[part] !== base.hashes[part]);
  if (!change.changed) return differing;
  // The source's exact list wins (except for what our own sink just wrote: its echo), and a part
  // whose content differs from the baseline is changed whatever the source says (we may have
  // missed a change while stopped).
  const listed = change.changed.filter((part) => !(base.written.has(part) && hashes[part] === base.hashes[part]));
  return [...new Set([...listed, ...differing])].filter((part) => part in hashes);
}

/** What the linked sink wrote at a change's keys after the change was read (SinkWrites.writtenSince). */
export type LaterWrites = ReturnType<SinkWrites['writtenSince']>;

/** How the linked sink's writes bear on a state the source reported. */
export interface SinkWriteEffects {
  /** The state shows this part older than what the sink wrote since, or than what we hold: not a change. */
  overtaken(part: string): boolean;
  /** Local changes the sink's write overwrote (the application shows the older value): write back. */
  readonly lost: readonly string[];
  /** Parts the sink wrote after the state was read but the application changed itself meanwhile. */
  readonly clobbered: readonly string[];
}

/**
 * Sorts out the parts a sink write touched: a part the sink wrote after this state was read shows
 * its value from before the write (ignored), unless the application changed it itself in between
 * (clobbered: a local change to publish and write back); a part holding what the sink last wrote
 * while a newer local value was captured was overwritten by a write decided before that capture
 * (lost: write back), provided the sink wrote it after that capture was read: otherwise the
 * application went back to the value the sink wrote by a change of its own.
 */
export function sinkWriteEffects(
  hashes: Readonly<Record<string, string>>,
  base: Baseline,
  before: CapturedObject | undefined,
  sinkState: AppliedObject | undefined,
  later: LaterWrites,
  /** Parts the sink wrote since the source's previous report of the object was read (SinkWrites.writtenSinceRead). */
  writtenSinceRead: ReadonlySet<string> = new Set(),
): SinkWriteEffects {
  const held = (part: string): string => hashes[part] ?? ABSENT;
  const clobbered = [...(later?.parts ?? [])].filter((part) => before !== undefined && held(part) !== (before.hashes[part] ?? ABSENT));
  const lost = Object.keys({ ...hashes, ...base.hashes }).filter((part) => {
    const wrote = sinkState?.hashes?.[part];
    return (
      writtenSinceRead.has(part) &&
      wrote !== undefined &&
      held(part) === wrote &&
      held(part) !== (base.hashes[part] ?? ABSENT) &&
      (sinkState?.csns[part] ?? '') < (base.csns[part] ?? '')
    );
  });
  return {
    overtaken: (part) => (later?.parts.has(part) === true && !clobbered.includes(part)) || lost.includes(part),
    lost,
    clobbered,
  };
}
