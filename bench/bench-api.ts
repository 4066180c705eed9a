/**
 * The shape of a benchmark: a module bench/<name>.bench.ts exports `benchmark`. Results are
 * figures measured in this run; comparisons are ratios against a baseline measured in the same
 * run (never against a constant), so that they hold on any machine.
 */
export interface BenchFigure {
  /** What was measured, e.g. "couchdb sink _bulk_docs, 10,000 docs". */
  readonly scenario: string;
  readonly value: number;
  /** "docs/s", "ms", "MB"... */
  readonly unit: string;
  /** Optional: the baseline measured in the same run and what value / baseline came to. */
  readonly baseline?: { readonly scenario: string; readonly value: number; readonly ratio: number };
  readonly notes?: string;
}

export interface Benchmark {
  readonly name: string;
  run(): Promise<readonly BenchFigure[]>;
}
