/**
 * `npm run bench [name...]`: runs every bench/*.bench.ts (or those named), prints a table and
 * writes the figures with a description of the machine to bench/results/<timestamp>.json.
 */
import { readdir, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem, release } from 'node:os';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import type { BenchFigure, Benchmark } from './bench-api.js';

const here = dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
const files = (await readdir(here)).filter((f) => f.endsWith('.bench.ts')).sort();
const results: { benchmark: string; figures: readonly BenchFigure[]; loadAverage: { before: number[]; after: number[] } }[] = [];
// The machine may be shared: the load average before and after says how much the figures measure neighbours.
const loadBefore = loadavg();

for (const file of files) {
  const { benchmark } = (await import(join(here, file))) as { benchmark: Benchmark };
  if (wanted.length > 0 && !wanted.includes(benchmark.name)) continue;
  process.stderr.write(`bench: ${benchmark.name}...\n`);
  const loadStart = loadavg();
  const figures = await benchmark.run();
  results.push({ benchmark: benchmark.name, figures, loadAverage: { before: loadStart, after: loadavg() } });
  // Each benchmark's figures as soon as they exist, with the load they were measured under.
  for (const f of figures) process.stderr.write(`bench: ${benchmark.name}: ${f.scenario}: ${round(f.value)} ${f.unit}${f.baseline ? ` (x${round(f.baseline.ratio)} of ${round(f.baseline.value)})` : ''}\n`);
  process.stderr.write(`bench: ${benchmark.name} done, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
}

const rows = results.flatMap(({ benchmark, figures }) =>
  figures.map((f) => [
    benchmark,
    f.scenario,
    `${round(f.value)} ${f.unit}`,
    f.baseline ? `${f.baseline.scenario}: ${round(f.baseline.value)} (x${round(f.baseline.ratio)})` : '',
    f.notes ?? '',
  ]),
);
const widths = [0, 1, 2, 3, 4].map((i) => Math.max(...rows.map((r) => r[i]!.length), 8));
for (const row of [['benchmark', 'scenario', 'value', 'baseline (ratio)', 'notes'], ...rows]) {
  process.stdout.write(`${row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ')}\n`);
}

const machine = {
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model,
  memoryBytes: totalmem(),
  kernel: release(),
  node: process.version,
  packages: Object.fromEntries(['@xmpp/client', 'better-sqlite3', 'saxon-js', 'saxes', 'nano', 'express-pouchdb'].map((name) => [name, versionOf(name)])),
  loadAverage: { before: loadBefore, after: loadavg() },
  fullSizes: process.env['PUBSYNC_BENCH_FULL'] === '1' || process.argv.includes('--full'),
};
const out = join(here, 'results', `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
await writeFile(out, `${JSON.stringify({ machine, results }, null, 2)}\n`);
process.stderr.write(`bench: wrote ${out}\n`);

function round(value: number): string {
  return value >= 100 ? value.toFixed(0) : value.toPrecision(3);
}

function versionOf(name: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(join(here, '..', 'node_modules', name, 'package.json'), 'utf8')) as { version?: string }).version;
  } catch {
    return undefined;
  }
}
