import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseFeed } from '../../../src/format/index.js';
import { createXsltTransform, SefCompiler, XsltWorkerPool } from '../../../src/transform/index.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const fixtures = join(root, 'test/fixtures/transforms');
const cases = (await readdir(fixtures, { withFileTypes: true })).filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort();

// Shared across runs: these tests are about what the stylesheets produce, not about compiling.
const compiler = new SefCompiler({ cacheDir: join(tmpdir(), 'pubsync-test-xslt-cache') });
const pool = new XsltWorkerPool({ timeoutMs: 10_000 });
after(() => pool.close());

describe('shipped transforms: fixtures', () => {
  it('has a fixture for every shipped stylesheet', async () => {
    const stylesheets = (await readdir(join(root, 'transforms'))).filter((name) => name.endsWith('.xsl')).sort();
    const covered = await Promise.all(cases.map(async (name) => JSON.parse(await readFile(join(fixtures, name, 'case.json'), 'utf8')).stylesheet as string));
    assert.deepEqual([...new Set(covered)].sort(), stylesheets);
  });

  for (const name of cases) {
    it(`${name}: input.xml becomes expected.xml`, async () => {
      const dir = join(fixtures, name);
      const spec = JSON.parse(await readFile(join(dir, 'case.json'), 'utf8')) as { stylesheet: string; params: Record<string, string | number | boolean> };
      const input = parseFeed(await readFile(join(dir, 'input.xml'), 'utf8')).entries;
      const expected = parseFeed(await readFile(join(dir, 'expected.xml'), 'utf8')).entries;
      const transform = createXsltTransform({ stylesheet: join(root, 'transforms', spec.stylesheet), params: spec.params, compiler, pool });
      const output = await transform.apply(input, AbortSignal.timeout(30_000));
      assert.deepEqual(output, expected);
      await transform.close();
    });
  }
});
