import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { pino } from 'pino';
import {
  createTestContext,
  instantiate,
  MemoryPluginState,
  objectEntry,
  sinkContract,
  sourceContract,
  type ObjectState,
} from 'pubsync/testing';
import { loadConfig } from '../../src/config/index.js';
import { NotConnectedError, SyncError } from '../../src/errors/index.js';
import type { SourceBatch } from '../../src/plugin-api/index.js';
import { PluginHost, loadConfiguredPlugins, planInstances } from '../../src/plugin-host/index.js';

/**
 * The example plugin, loaded the way an operator's daemon loads it: the package installed in the
 * node_modules of the config file's directory, found by its package name through the plugin
 * host, importing pubsync only as the `pubsync/plugin-api` peer dependency.
 */

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const example = join(repo, 'examples', 'pubsync-plugin-jsonl');
const project = await mkdtemp(join(tmpdir(), 'pubsync-jsonl-project-'));
after(() => rm(project, { recursive: true, force: true }));

await installExample(project);
const configFile = join(project, 'pubsync.yaml');
await writeFile(configFile, config(join(project, 'notes'), join(project, 'mirror')));
const loaded = await loadConfig(configFile);
const registry = await loadConfiguredPlugins(loaded);
const source = required(registry.get('source', 'jsonl'), 'the jsonl source');
const sink = required(registry.get('sink', 'jsonl'), 'the jsonl sink');

describe('pubsync-plugin-jsonl through the plugin host', () => {
  it('is loaded by package name from node_modules next to the config file', () => {
    const packageUrl = pathToFileURL(join(project, 'node_modules', 'pubsync-plugin-jsonl')).href;
    for (const kind of ['source', 'sink'] as const) {
      const { origin } = required(registry.find(kind, 'jsonl'), `the jsonl ${kind}`);
      assert.equal(origin.module, 'pubsync-plugin-jsonl');
      assert.ok(origin.url?.startsWith(`${packageUrl}/`), `loaded from ${origin.url}`);
    }
  });

  it('shares pubsync’s error classes through its peer dependency', async () => {
    const options = { directory: join(project, 'absent') };
    const instance = await instantiate(sink, options, createTestContext({ kind: 'sink' }));
    await assert.rejects(instance.apply([], new AbortController().signal), (error) => {
      assert.ok(error instanceof NotConnectedError && error instanceof SyncError, `got ${String(error)}`);
      return true;
    });
  });

  it('reports bad options with their key path and line', async () => {
    await writeFile(join(project, 'bad.yaml'), config('relative/notes', join(project, 'mirror')));
    const bad = await loadConfig(join(project, 'bad.yaml'));
    await assert.rejects(planInstances(registry, bad), (error: SyncError) => {
      assert.equal(error.code, 'PUBSYNC_ERR_CONFIG_INVALID');
      assert.match(error.message, /bad\.yaml:\d+:\d+: sources\[0\]\.options\.directory: an absolute path/);
      return true;
    });
  });

  it('runs a source and a sink under the host', async () => {
    const notes = join(project, 'notes');
    const mirror = join(project, 'mirror');
    await mkdir(notes, { recursive: true });
    await mkdir(mirror, { recursive: true });
    await writeObject(notes, 'ada', { name: 'Ada', note: 'hello' });
    const host = new PluginHost(await planInstances(registry, loaded), {
      logger: pino({ level: 'silent' }),
      clock: { now: () => Date.now() },
      state: new MemoryPluginState(),
      replica: { id: 1 },
    });
    await host.start();
    try {
      const batch = await firstBatch(required(host.source('notes'), 'source notes').start(undefined));
      assert.equal(batch.changes[0]?.op, 'upsert');
      const entry = objectEntry({ fields: { name: 'Ada', note: 'hello' } });
      const outcomes = await required(host.sink('mirror'), 'sink mirror').apply([{ entry, fields: ['name', 'note'] }]);
      assert.equal(outcomes[0]?.status, 'applied');
      assert.deepEqual(await readObject(mirror, outcomes[0]?.status === 'applied' ? outcomes[0].localKey : ''), {
        name: ['Ada'],
        note: ['hello'],
      });
    } finally {
      const report = await host.stop();
      assert.deepEqual(report.timedOut, []);
    }
  });
});

sourceContract('jsonl', {
  timeoutMs: 5_000,
  async setup() {
    const directory = await mkdtemp(join(project, 'source-'));
    return {
      create: (context) => instantiate(source, { directory, pollIntervalMs: 20 }, context),
      writeObject: (id, fields) => writeObject(directory, id, fields),
      deleteObject: (id) => rm(join(directory, `${id}.json`)),
      teardown: () => rm(directory, { recursive: true, force: true }),
    };
  },
});

sinkContract('jsonl', {
  async setup() {
    const directory = await mkdtemp(join(project, 'sink-'));
    return {
      create: (context) => instantiate(sink, { directory, refusedTypes: ['forbidden'] }, context),
      read: (localKey) => readObject(directory, localKey),
      makeRefused: () => objectEntry({ type: 'forbidden', fields: { name: 'refused', note: 'refused' } }),
      teardown: () => rm(directory, { recursive: true, force: true }),
    };
  },
});

/** What `npm install pubsync-plugin-jsonl` leaves: the package copied, its peers (pubsync, zod) beside it. */
async function installExample(root: string): Promise<void> {
  const modules = join(root, 'node_modules');
  await mkdir(modules, { recursive: true });
  await cp(example, join(modules, 'pubsync-plugin-jsonl'), {
    recursive: true,
    filter: (path) => !relative(example, path).split(sep).includes('node_modules'),
  });
  await symlink(repo, join(modules, 'pubsync'), 'dir');
  await symlink(join(repo, 'node_modules', 'zod'), join(modules, 'zod'), 'dir');
}

function config(notes: string, mirror: string): string {
  return [
    'replica: { id: 1 }',
    'state: { path: ./state.db }',
    'plugins: [pubsync-plugin-jsonl]',
    'sources:',
    '  - name: notes',
    '    plugin: jsonl',
    `    options: { directory: ${JSON.stringify(notes)}, pollIntervalMs: 20 }`,
    'sinks:',
    '  - name: mirror',
    '    plugin: jsonl',
    `    options: { directory: ${JSON.stringify(mirror)} }`,
    '',
  ].join('\n');
}

/** As another application would: the whole file at once (temp file, then rename). */
async function writeObject(directory: string, id: string, fields: Readonly<Record<string, string>>): Promise<void> {
  const temp = join(directory, `.${id}.json.tmp`);
  await writeFile(temp, JSON.stringify({ type: 'note', fields }));
  await rename(temp, join(directory, `${id}.json`));
}

async function readObject(directory: string, id: string): Promise<ObjectState | undefined> {
  let text: string;
  try {
    text = await readFile(join(directory, `${id}.json`), 'utf8');
  } catch {
    return undefined;
  }
  const { fields } = JSON.parse(text) as { fields: Record<string, unknown> };
  return Object.fromEntries(
    Object.entries(fields).map(([name, value]) => [name, (Array.isArray(value) ? value : [value]).map(String)]),
  );
}

async function firstBatch(batches: AsyncIterable<SourceBatch>): Promise<SourceBatch> {
  for await (const batch of batches) if (batch.changes.length > 0) return batch;
  throw new Error('the source ended without a batch');
}

function required<T>(value: T | undefined, what: string): T {
  assert.ok(value !== undefined, `${what} is missing`);
  return value;
}
