import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { LogRecorder, settle, verdict, type SettleReport, type VerdictInput } from './convergence-check.js';
import type { MeshReplica } from './convergence-mesh.js';
import { runOps, runSeed, seededRandom } from './convergence-model.js';
import { generatePlan, Journal, runPlan, type ReplicaApp } from './convergence-workload.js';

export interface ConvergenceRun {
  readonly replicas: readonly MeshReplica[];
  readonly apps: readonly ReplicaApp[];
  /** Changes per run in CI; PUBSYNC_CONVERGENCE_OPS overrides. */
  readonly ops: number;
  readonly fields: readonly string[];
  readonly keyAt: VerdictInput['keyAt'];
  readonly journalKey: VerdictInput['journalKey'];
  readonly fieldAt?: VerdictInput['fieldAt'];
  readonly partitionable?: readonly number[];
  readonly creators?: readonly number[];
  readonly translate?: VerdictInput['translate'];
  readonly compared?: VerdictInput['compared'];
  readonly settleTimeoutMs?: number;
  readonly slack?: number;
}

/**
 * One seeded run: the plan, its execution against the live mesh, settling, and the verdict. The
 * seed and the figures go to the test's diagnostics; a failure names the seed to replay it with.
 */
export async function proveConvergence(t: TestContext, run: ConvergenceRun): Promise<void> {
  const seed = runSeed();
  const ops = runOps(run.ops);
  t.diagnostic(`seed ${seed} (replay: PUBSYNC_SEED=${seed}), ${ops} changes`);
  const plan = generatePlan(seededRandom(seed), {
    replicas: run.replicas.length,
    changes: ops,
    fields: run.fields,
    ...(run.partitionable ? { partitionable: run.partitionable } : {}),
    ...(run.creators ? { creators: run.creators } : {}),
  });
  const journal = new Journal();
  const recorder = new LogRecorder(run.replicas);
  const started = Date.now();
  let workloadMs = 0;
  let settled: SettleReport;
  try {
    await runPlan(plan, run.apps, run.replicas, journal).catch((error: unknown) => {
      throw new Error(`seed ${seed}: the workload failed: ${(error as Error).message}`, { cause: error });
    });
    workloadMs = Date.now() - started;
    const bound = journal.madeBy(run.replicas.length).map((made) => made + (run.slack ?? 2));
    settled = await settle(run.replicas, run.apps, run.settleTimeoutMs ?? 120_000, bound);
  } finally {
    recorder.stop();
  }
  const settleMs = Date.now() - started - workloadMs;
  const result = await verdict({
    replicas: run.replicas,
    apps: run.apps,
    recorder,
    journal,
    settled,
    keyAt: run.keyAt,
    journalKey: run.journalKey,
    ...(run.fieldAt ? { fieldAt: run.fieldAt } : {}),
    ...(run.translate ? { translate: run.translate } : {}),
    ...(run.compared ? { compared: run.compared } : {}),
    ...(run.slack === undefined ? {} : { slack: run.slack }),
  });
  const made = journal.madeBy(run.replicas.length);
  const alive = [...result.expected.values()].filter((o) => o.alive).length;
  t.diagnostic(
    `changes made ${made.join('/')} (${journal.records.length - made.reduce((a, b) => a + b, 0)} not applicable), ` +
      `entries published ${run.replicas.map((_, i) => recorder.revisions(i).length).join('/')}, ` +
      `objects ${result.expected.size} (${alive} alive), workload ${workloadMs} ms, settled in ${settleMs} ms`,
  );
  if (result.problems.length > 0) {
    // Everything needed to see why: each replica's published revisions, the journal, the final states.
    const dump = join(tmpdir(), `pubsync-convergence-${seed}.json`);
    const states = await Promise.all(run.apps.map(async (app) => Object.fromEntries(await app.snapshot())));
    writeFileSync(
      dump,
      JSON.stringify({ seed, problems: result.problems, journal: journal.records, logs: run.replicas.map((_, i) => recorder.revisions(i)), states }, null, 1),
    );
    t.diagnostic(`revisions, journal and final states: ${dump}`);
    for (const problem of result.problems.slice(0, 40)) t.diagnostic(problem);
    assert.fail(`seed ${seed} (replay: PUBSYNC_SEED=${seed}): ${result.problems.length} problems, first: ${result.problems.slice(0, 8).join(' || ')}`);
  }
}
