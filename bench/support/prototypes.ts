/**
 * Prototype fixes for bottlenecks in files the bench does not own, as PUBSYNC_BENCH_SWAP pairs
 * (see swap-hooks.mjs). PUBSYNC_BENCH_PROTOTYPES=1 (all) or =sync-normal makes the
 * end-to-end benches run a second time with them swapped in, so the gain is a same-run ratio.
 */
const ALL: Record<string, string> = {
  /** The state store with synchronous=NORMAL (src/state/sqlite-state-store.ts). */
  'sync-normal': 'src/state/sqlite-state-store.ts=bench/prototypes/sqlite-state-store.ts',
};

const chosen = process.env['PUBSYNC_BENCH_PROTOTYPES'] ?? '';
const names = chosen === '1' ? Object.keys(ALL) : chosen.split(',').filter((name) => name in ALL);

export const COMPARE_PROTOTYPES = names.length > 0;
/** The swap string for the chosen prototypes, and their names for the figures. */
export const PROTOTYPES = names.map((name) => ALL[name]).join(',');
export const PROTOTYPE_NAMES = names.join(' + ');
