import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { runOutage, type OutageOptions } from './outage-scenario.js';

/** Shared by the quick and the long run: the sink's server away, then Prosody restarted, nothing lost. */
export async function outageTrial(t: TestContext, options: OutageOptions & { readonly maxRssGrowthMb: number }): Promise<void> {
  const result = await runOutage(options);
  t.diagnostic(
    `seed ${options.seed}: sink CouchDB away ${options.outageMs / 1000} s while ${options.changesDuring} changes were made, then Prosody restarted; ` +
      `${result.changes} changes in all; B's RSS ${result.rssBeforeMb} MB before, at most ${result.rssMaxDuringMb} MB during; ` +
      `retry waits ${result.retryWaits.join(', ') || 'none logged'} ms; drained ${(result.drainMs / 1000).toFixed(1)} s after; ${result.differences.length} differences`,
  );
  assert.deepEqual(result.differences.slice(0, 3), [], `B equals A object by object after the outage and the restart (PUBSYNC_SEED=${options.seed})`);
  assert.ok(result.rssMaxDuringMb - result.rssBeforeMb < options.maxRssGrowthMb, `the backlog waits upstream: B grew ${result.rssMaxDuringMb - result.rssBeforeMb} MB`);
}
