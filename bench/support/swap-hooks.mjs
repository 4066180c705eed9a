/* global URL, process */
/**
 * Module hooks for prototyping a fix in a file the bench does not own: PUBSYNC_BENCH_SWAP holds
 * "src/a.ts=bench/prototypes/a.ts,..." (paths from the repository root); every import of a
 * swapped file loads the prototype instead. Loaded with `node --import ./bench/support/swap.mjs`.
 */
const root = new URL('../../', import.meta.url);
const swaps = new Map(
  (process.env.PUBSYNC_BENCH_SWAP ?? '')
    .split(',')
    .filter(Boolean)
    .map((pair) => pair.split('=').map((path) => new URL(path, root).href)),
);

export async function resolve(specifier, context, nextResolve) {
  if (context.parentURL && (specifier.startsWith('.') || specifier.startsWith('file:'))) {
    const target = new URL(specifier, context.parentURL).href.replace(/\.js$/, '.ts');
    const swapped = swaps.get(target);
    // The prototype's own relative imports resolve from its own place, so it may import the original.
    if (swapped && context.parentURL !== swapped) return { url: swapped, shortCircuit: true };
  }
  return nextResolve(specifier, context);
}
