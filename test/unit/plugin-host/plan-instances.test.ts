import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { parseConfig, type ConfigProblem } from '../../../src/config/index.js';
import { ErrorCodes, type SyncError } from '../../../src/errors/index.js';
import { definePlugin } from '../../../src/plugin-api/index.js';
import { PluginRegistry, planInstances, validateInstances } from '../../../src/plugin-host/index.js';

const FILE = '/etc/pubsync/pubsync.yaml';

function registry(): PluginRegistry {
  const plugins = new PluginRegistry();
  const http = z.object({ url: z.url(), timeoutMs: z.number().int().positive().default(5_000) }).strict();
  plugins.add(
    definePlugin({ kind: 'source', name: 'http', configSchema: http, create: () => ({ async *start() {} }) }),
    { module: 'built-in' },
  );
  plugins.add(
    definePlugin({ kind: 'source', name: 'files', configSchema: z.object({}), create: () => ({ async *start() {} }) }),
    { module: 'built-in' },
  );
  plugins.add(
    definePlugin({
      kind: 'sink',
      name: 'files',
      configSchema: z.object({ path: z.string().min(1), mode: z.enum(['append', 'replace']).default('replace') }),
      create: () => ({ apply: async () => [] }),
    }),
    { module: './local-plugins.mjs' },
  );
  return plugins;
}

const config = (body: string) => parseConfig(`replica: { id: 1 }\nstate: { path: s.db }\n${body}`, FILE);

describe('validating configured instances', () => {
  it('reports every problem of every instance at once, with key paths and positions', async () => {
    const loaded = config(
      [
        'sources:',
        '  - name: api', // line 4
        '    plugin: http',
        '    options:',
        '      url: not a url', // line 7
        '      timeoutMs: -1',
        '      colour: blue', // line 9
        '  - name: typo',
        '    plugin: htp', // line 11
        'sinks:',
        '  - name: out',
        '    plugin: files',
        '    options: { mode: sideways }', // line 15
        '',
      ].join('\n'),
    );
    await assert.rejects(planInstances(registry(), loaded), (error: SyncError) => {
      assert.equal(error.code, ErrorCodes.CONFIG_INVALID);
      const problems = error.details['problems'] as ConfigProblem[];
      assert.deepEqual(
        problems.map((p) => [p.path, p.line]),
        [
          ['sources[0].options.url', 7],
          ['sources[0].options.timeoutMs', 8],
          ['sources[0].options.colour', 9],
          ['sources[1].plugin', 11],
          ['sinks[0].options.path', 15],
          ['sinks[0].options.mode', 15],
        ],
      );
      const unknown = problems.find((p) => p.path === 'sources[1].plugin');
      assert.equal(unknown?.message, 'unknown source plugin "htp"');
      assert.equal(unknown?.expected, 'one of files, http');
      assert.equal(problems.find((p) => p.path === 'sinks[0].options.path')?.message, 'missing');
      // The same shape as loadConfig's errors, so `pubsync check` prints it unchanged.
      const first = /^\/etc\/pubsync\/pubsync\.yaml: 6 problems:\n {2}\/etc\/pubsync\/pubsync\.yaml:7:\d+: sources\[0\]\.options\.url: /;
      assert.match(error.message, first);
      return true;
    });
  });

  it('says when no plugin of a kind is available at all', async () => {
    const loaded = config('sinks:\n  - { name: out, plugin: files }\n');
    await assert.rejects(planInstances(new PluginRegistry(), loaded), (error: SyncError) => {
      const [problem] = error.details['problems'] as ConfigProblem[];
      assert.match(problem?.expected ?? '', /none is available \(third-party ones are listed under `plugins`\)/);
      return true;
    });
  });

  it('returns the instances with their options parsed and defaults applied', async () => {
    const loaded = config(
      [
        'sources:',
        '  - { name: api, plugin: http, options: { url: "https://example.org/feed" } }',
        'sinks:',
        '  - { name: out, plugin: files, options: { path: /tmp/out } }',
        '',
      ].join('\n'),
    );
    const planned = await planInstances(registry(), loaded);
    assert.deepEqual(
      planned.map(({ kind, name, plugin, config }) => ({ kind, name, plugin, config })),
      [
        { kind: 'sink', name: 'out', plugin: 'files', config: { path: '/tmp/out', mode: 'replace' } },
        { kind: 'source', name: 'api', plugin: 'http', config: { url: 'https://example.org/feed', timeoutMs: 5_000 } },
      ],
    );
  });

  it('reports a schema that throws as a problem of that instance', async () => {
    const plugins = new PluginRegistry();
    const exploding = z.object({}).transform(() => {
      throw new Error('boom');
    });
    plugins.add(
      definePlugin({ kind: 'source', name: 'odd', configSchema: exploding, create: () => ({ async *start() {} }) }),
      { module: 'built-in' },
    );
    const specs = [{ kind: 'source' as const, name: 'x', plugin: 'odd', options: {}, path: ['sources', 0] }];
    await assert.rejects(
      validateInstances(plugins, specs, { file: FILE }),
      /sources\[0\]\.options: the source plugin "odd" failed to check its options: Error: boom/,
    );
  });
});
