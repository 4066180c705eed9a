import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { CONFIG_REFERENCE_FILE, renderConfigReference } from '../../../scripts/gen-config-reference.js';
import { configSchema } from '../../../src/config/schema.js';
import { builtinPlugins } from '../../../src/plugin-host/builtin-plugins.js';
import { definePlugin } from '../../../src/plugin-api/index.js';

interface Json {
  description?: string;
  properties?: Record<string, Json>;
  items?: Json;
}

/** Every key path below `node` with its description, enumerated independently of the generator. */
function keyPaths(node: Json, prefix: string): { path: string; description?: string }[] {
  const object = node.properties ? node : node.items?.properties ? node.items : undefined;
  if (!object?.properties) return [];
  const join = object === node ? '.' : '[].';
  return Object.entries(object.properties).flatMap(([key, child]) => {
    const path = prefix === '' ? key : `${prefix}${join}${key}`;
    return [{ path, ...(child.description ? { description: child.description } : {}) }, ...keyPaths(child, path)];
  });
}

/** The table row of a key path; a top-level key's row is in the summary table, as a link. */
function rowOf(markdown: string, path: string): string {
  const starts = [`| \`${path}\` |`, `| [\`${path}\`](#`];
  const row = markdown.split('\n').find((line) => starts.some((start) => line.startsWith(start)));
  assert.ok(row, `no row for ${path}`);
  return row;
}

describe('configuration reference (docs/configuration.md)', () => {
  it('is up to date with the config schema and the built-in plugins', async () => {
    const expected = renderConfigReference();
    const actual = await readFile(CONFIG_REFERENCE_FILE, 'utf8').catch(() => '');
    if (actual === expected) return;
    const want = expected.split('\n');
    const have = actual.split('\n');
    const line = want.findIndex((text, index) => text !== have[index]);
    const at = line === -1 ? have.length : line;
    assert.fail(
      `docs/configuration.md is stale: run \`npm run docs:config\` and commit the result.\n` +
        `First difference at line ${at + 1}:\n  expected: ${want[at] ?? '(end of file)'}\n  found:    ${have[at] ?? '(end of file)'}`,
    );
  });

  it('has a row for every key of the config schema, with its description', () => {
    const markdown = renderConfigReference();
    const root = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as Json;
    const keys = keyPaths(root, '');
    assert.ok(keys.length > 40, `expected the whole schema, found ${keys.length} keys`);
    for (const { path, description } of keys) {
      const row = rowOf(markdown, path);
      if (description) assert.ok(row.includes(description.replace(/\|/g, '\\|')), `${path}: description missing`);
    }
  });

  it('has a section for every built-in plugin listing each of its options', () => {
    const markdown = renderConfigReference();
    for (const plugin of builtinPlugins) {
      const heading = markdown.split('\n').findIndex((line) => line.startsWith(`### ${plugin.name} `) && line.includes(plugin.kind));
      assert.ok(heading >= 0, `no section for the ${plugin.name} ${plugin.kind}`);
      const section = markdown.split('\n').slice(heading + 1).join('\n').split('\n### ')[0] ?? '';
      const options = z.toJSONSchema(plugin.configSchema, { io: 'input', unrepresentable: 'any' }) as Json;
      for (const { path } of keyPaths(options, 'options')) rowOf(section, path);
    }
  });

  it('renders type, allowed values, default and description of each option', () => {
    const probe = definePlugin({
      kind: 'source',
      name: 'probe',
      summary: 'a plugin made up for this test',
      configSchema: z
        .object({
          url: z.string().regex(/^a|b$/, 'an a or a b').describe('where | it is'),
          mode: z.enum(['fast', 'safe']).default('safe'),
          size: z.number().int().min(1).max(10).optional(),
          nested: z.object({ depth: z.number().default(2).describe('how deep') }).strict().default({ depth: 2 }),
          list: z.array(z.object({ id: z.string() }).strict()).default([]),
        })
        .strict(),
      create: () => {
        throw new Error('not used');
      },
    });
    const markdown = renderConfigReference([probe]);
    assert.match(markdown, /### probe source\n\n`sources\[\]\.options` when `plugin: probe`\./);
    // A pipe, even inside a code span, must be escaped or it splits the table cell.
    assert.equal(
      rowOf(markdown, 'options.url'),
      '| `options.url` | string | an a or a b, matching `^a\\|b$` | **required** | where \\| it is |',
    );
    assert.equal(rowOf(markdown, 'options.mode'), '| `options.mode` | string | `fast`, `safe` | `safe` |  |');
    assert.equal(rowOf(markdown, 'options.size'), '| `options.size` | integer | ≥ 1, ≤ 10 | — |  |');
    assert.equal(rowOf(markdown, 'options.nested'), "| `options.nested` | object |  | its keys' defaults |  |");
    assert.equal(rowOf(markdown, 'options.nested.depth'), '| `options.nested.depth` | number |  | `2` | how deep |');
    assert.equal(rowOf(markdown, 'options.list[].id'), '| `options.list[].id` | string |  | **required** |  |');
  });
});
