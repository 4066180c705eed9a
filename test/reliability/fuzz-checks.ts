import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { runInboundFuzz, type FuzzRunResult } from './fuzz-inbound.js';
import type { FuzzKind } from './fuzz-cases.js';

/** Kinds no mutation of which may ever reach the sink. */
const NEVER_APPLIED: readonly FuzzKind[] = ['missing-id', 'invalid-csn', 'future-csn', 'deep-nesting', 'other-origin', 'not-a-feed'];

/** Runs the inbound fuzz and asserts what the issue promises; shared by the quick and the long run. */
export async function fuzzInbound(t: TestContext, options: { seed: number; cases: number; markerEvery: number }): Promise<FuzzRunResult> {
  const result = await runInboundFuzz(options);
  const replay = `replay with PUBSYNC_SEED=${result.seed}`;
  t.diagnostic(
    `seed ${result.seed}: ${result.cases} bad items, ${result.markers} good entries after them all arrived, ${result.deadLetters} dead letters, ` +
      `${result.applied} mutations that were still valid applied, ${result.outsiderRefusals.length} publishes by an outsider refused, ${(result.ms / 1000).toFixed(1)} s`,
  );
  t.diagnostic(`by kind (cases/dead-lettered/applied): ${Object.entries(result.byKind).map(([k, f]) => `${k} ${f.cases}/${f.deadLettered}/${f.applied}`).join(', ')}`);
  assert.deepEqual(result.unaccounted, [], `every bad item ends dead-lettered or applied, exactly once; ${replay}`);
  for (const kind of NEVER_APPLIED) assert.equal(result.byKind[kind].applied, 0, `no ${kind} case reaches the sink; ${replay}`);
  assert.equal(result.byKind['future-csn'].deadLettered, result.byKind['future-csn'].cases, `every far-future CSN is dead-lettered; ${replay}`);
  assert.equal(result.byKind['other-origin'].deadLettered, result.byKind['other-origin'].cases, `every entry claiming another origin is dead-lettered; ${replay}`);
  assert.ok(result.outsiderRefusals.length > 0);
  assert.ok(result.outsiderRefusals.every((c) => c === 'forbidden'), `the server refuses a publisher off the list: ${result.outsiderRefusals.join(',')}`);
  assert.equal(result.unclear, 0, 'every dead letter has a PUBSYNC_ERR_ code and a message');
  return result;
}
