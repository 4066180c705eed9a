/**
 * A seeded pseudo-random generator (mulberry32) for the reliability tests: every random choice of
 * a trial (kill moments, change mix, fuzz cases) comes from it, so a failure is replayed by
 * running again with PUBSYNC_SEED set to the seed the failure message printed.
 */
export interface SeededRandom {
  readonly seed: number;
  /** In [0, 1). */
  next(): number;
  /** An integer in [min, max]. */
  int(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
}

export function seededRandom(seed: number): SeededRandom {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  return {
    seed,
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    pick: (items) => {
      if (items.length === 0) throw new Error('pick() from an empty list');
      return items[Math.floor(next() * items.length)] as (typeof items)[number];
    },
  };
}

/** PUBSYNC_SEED when set (to replay a failure), else a fresh seed; either way it is reported. */
export function seedFromEnv(): number {
  const fixed = process.env['PUBSYNC_SEED'];
  if (fixed !== undefined && fixed !== '') {
    const seed = Number(fixed);
    if (!Number.isInteger(seed) || seed < 0) throw new Error(`PUBSYNC_SEED must be a non-negative integer, got ${fixed}`);
    return seed;
  }
  return Math.floor(Math.random() * 2 ** 31);
}
