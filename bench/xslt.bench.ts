/**
 * Cost of XSLT transforms per entry: each entry in its own call vs batches of 100 in one call,
 * for the identity stylesheet (the baseline: serialize + worker round trip + parse) and the
 * LDAP-to-contact mapping. Also the first (cold) compile and the cache hit after a restart.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseFeed } from '../src/format/index.js';
import type { Entry } from '../src/format/model.js';
import { objectEntry } from '../src/testing/entries.js';
import { createXsltTransform, SefCompiler, XsltWorkerPool } from '../src/transform/index.js';
import type { BenchFigure, Benchmark } from './bench-api.js';
import { cpuMicros } from './support/sizes.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const ENTRIES = 2_000;
const BATCH = 100;

/** `count` copies of the fixture's person, each a distinct object (own id and CSN). */
export function people(count: number, template: Entry): Entry[] {
  return Array.from({ length: count }, (_, i) =>
    objectEntry({ type: template.type, keys: template.keys, fields: template.deleted ? [] : template.fields, title: `Person ${i}` }),
  );
}

/** Milliseconds per entry of one stylesheet in calls of `batch` entries (after a warm-up call). */
export async function perEntryMs(stylesheet: string, entries: readonly Entry[], batch: number, compiler: SefCompiler, pool: XsltWorkerPool, clock: 'wall' | 'cpu' = 'wall'): Promise<number> {
  const transform = createXsltTransform({ stylesheet: isAbsolute(stylesheet) ? stylesheet : join(root, 'transforms', stylesheet), compiler, pool });
  await transform.start();
  const signal = new AbortController().signal;
  // Warm-up: worker start and JIT are not what is measured.
  await transform.apply(entries.slice(0, batch), signal);
  const start = performance.now();
  const cpu = process.cpuUsage();
  for (let i = 0; i < entries.length; i += batch) await transform.apply(entries.slice(i, i + batch), signal);
  // 'cpu': this process's CPU time, the worker's included: steadier than wall time on a shared machine.
  return (clock === 'cpu' ? cpuMicros(cpu) / 1000 : performance.now() - start) / entries.length;
}

export const benchmark: Benchmark = {
  name: 'xslt',
  async run(): Promise<readonly BenchFigure[]> {
    const fixture = await readFile(join(root, 'test/fixtures/transforms/ldap-person-to-contact/input.xml'), 'utf8');
    const person = parseFeed(fixture).entries[0] as Entry;
    const cacheDir = await mkdtemp(join(tmpdir(), 'pubsync-bench-xslt-'));
    const pool = new XsltWorkerPool({ timeoutMs: 60_000 });
    try {
      const figures: BenchFigure[] = [];
      const t0 = performance.now();
      await new SefCompiler({ cacheDir }).compile(join(root, 'transforms/ldap-person-to-contact.xsl'));
      const cold = performance.now() - t0;
      const t1 = performance.now();
      await new SefCompiler({ cacheDir }).compile(join(root, 'transforms/ldap-person-to-contact.xsl'));
      const warm = performance.now() - t1;
      figures.push({ scenario: 'compile ldap-person-to-contact.xsl, cold (xslt3 child process)', value: cold, unit: 'ms' });
      figures.push({
        scenario: 'compile ldap-person-to-contact.xsl, cache hit after restart',
        value: warm,
        unit: 'ms',
        baseline: { scenario: 'cold compile', value: cold, ratio: warm / cold },
      });

      const compiler = new SefCompiler({ cacheDir });
      const entries = people(ENTRIES, person);
      // The baseline is a copy through SaxonJS: identity.xsl itself no longer reaches the worker.
      const copy = await saxonIdentity(cacheDir);
      const identityBatch = await perEntryMs(copy, entries, BATCH, compiler, pool);
      const identitySingle = await perEntryMs(copy, entries.slice(0, 500), 1, compiler, pool);
      const mapBatch = await perEntryMs('ldap-person-to-contact.xsl', entries, BATCH, compiler, pool);
      const mapSingle = await perEntryMs('ldap-person-to-contact.xsl', entries.slice(0, 500), 1, compiler, pool);
      const base = { scenario: `identity copy through SaxonJS, batches of ${BATCH}`, value: identityBatch };
      figures.push({ scenario: `identity copy through SaxonJS, batches of ${BATCH} (${ENTRIES} entries)`, value: identityBatch, unit: 'ms/entry' });
      figures.push({ scenario: 'identity copy through SaxonJS, one entry per call (500 entries)', value: identitySingle, unit: 'ms/entry', baseline: { ...base, ratio: identitySingle / identityBatch } });
      figures.push({ scenario: `ldap-person-to-contact.xsl, batches of ${BATCH} (${ENTRIES} entries)`, value: mapBatch, unit: 'ms/entry', baseline: { ...base, ratio: mapBatch / identityBatch } });
      figures.push({ scenario: 'ldap-person-to-contact.xsl, one entry per call (500 entries)', value: mapSingle, unit: 'ms/entry', baseline: { ...base, ratio: mapSingle / identityBatch } });
      figures.push({ scenario: `ldap-person-to-contact.xsl, batches of ${BATCH}`, value: 1000 / mapBatch, unit: 'entries/s' });
      return figures;
    } finally {
      await pool.close();
      await rm(cacheDir, { recursive: true, force: true });
    }
  },
};

/**
 * identity.xsl plus a template that matches nothing: the same copy, but not recognised as the
 * identity (src/transform/identity-stylesheet.ts), so SaxonJS runs it. What a copy costs in the
 * worker now that identity.xsl itself is handed on without it.
 */
export async function saxonIdentity(dir: string): Promise<string> {
  const file = join(dir, 'identity-through-saxon.xsl');
  await writeFile(
    file,
    '<xsl:stylesheet version="3.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">\n  <xsl:mode on-no-match="shallow-copy"/>\n  <xsl:template match="no-such-element"/>\n</xsl:stylesheet>\n',
  );
  return file;
}
