import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { runKillTrial, type KillTrialResult } from './kill-scenario.js';

export interface KillTrialsOptions {
  readonly baseSeed: number;
  readonly trials: number;
  readonly changes: number;
  readonly kills: number;
  readonly convergeMs: number;
}

/** Runs the trials one after another (seed = baseSeed + trial) and asserts each: nothing lost, nothing different. */
export async function killTrials(t: TestContext, options: KillTrialsOptions): Promise<KillTrialResult[]> {
  const results: KillTrialResult[] = [];
  for (let trial = 0; trial < options.trials; trial++) {
    const seed = options.baseSeed + trial;
    const result = await runKillTrial({ seed, changes: options.changes, kills: options.kills, convergeMs: options.convergeMs });
    results.push(result);
    const replay = `replay with PUBSYNC_SEED=${seed} (trials=1)`;
    t.diagnostic(
      `trial ${trial + 1}/${options.trials} seed ${seed}: ${result.changes} changes, ${result.documents} documents, ` +
        `kills ${result.kills.map((k) => `${k.daemon}@${k.afterChanges}`).join(' ')}, ${result.differences.length} differences, ${(result.ms / 1000).toFixed(1)} s`,
    );
    assert.equal(result.kills.length, options.kills, `every planned kill happened; ${replay}`);
    assert.deepEqual(result.differences.slice(0, 3), [], `B equals A object by object (${result.differences.length} differ); ${replay}\n${result.diagnosis ?? ''}`);
    assert.deepEqual(result.recaptured, [], `no old change was captured again after a newer one; ${replay}`);
    assert.deepEqual(result.deadLetters, [], `no dead letters; ${replay}`);
  }
  const total = (pick: (r: KillTrialResult) => number): number => results.reduce((sum, r) => sum + pick(r), 0);
  t.diagnostic(`totals: ${results.length} trials, ${total((r) => r.changes)} changes, ${total((r) => r.kills.length)} kill -9, ${total((r) => r.differences.length)} objects lost or different`);
  return results;
}
