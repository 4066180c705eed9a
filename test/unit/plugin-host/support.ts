import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { pino, type Logger } from 'pino';
import { z } from 'zod';
import {
  PLUGIN_API_VERSION,
  type PluginContext,
  type PluginKind,
  type Sink,
  type Source,
  type Transform,
} from '../../../src/plugin-api/index.js';
import type { AnyPluginDefinition, PlannedInstance } from '../../../src/plugin-host/index.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const API_URL = pathToFileURL(join(repo, 'src', 'plugin-api', 'index.ts')).href;
const ZOD_URL = import.meta.resolve('zod');

/** A temp directory with the given files (paths relative to it), removed after the test file. */
export async function makeProject(files: Readonly<Record<string, string>>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'pubsync-plugin-host-'));
  after(() => rm(root, { recursive: true, force: true }));
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
  }
  return root;
}

/** Source of a plugin module (plain JS, as a third party would ship) exporting `plugins`. */
export function pluginModule(...definitions: string[]): string {
  return [
    `import { definePlugin } from ${JSON.stringify(API_URL)};`,
    `import { z } from ${JSON.stringify(ZOD_URL)};`,
    `export const plugins = [${definitions.join(', ')}];`,
  ].join('\n');
}

/** A definition, as JS source, for pluginModule(). */
export function definition(kind: PluginKind, name: string): string {
  const instance =
    kind === 'source'
      ? '{ start: async function* () {} }'
      : '{ apply: async (items) => items.map(() => ({ status: "skipped", reason: "test" })) }';
  const head = `kind: ${JSON.stringify(kind)}, name: ${JSON.stringify(name)}`;
  return `definePlugin({ ${head}, configSchema: z.object({}), create: () => (${instance}) })`;
}

export function packageJson(name: string, fields: Record<string, unknown> = {}): string {
  return JSON.stringify({ name, version: '1.0.0', type: 'module', ...fields });
}

export interface CapturedLogger {
  readonly logger: Logger;
  readonly lines: Record<string, unknown>[];
}

export function captureLogger(): CapturedLogger {
  const lines: Record<string, unknown>[] = [];
  const write = (line: string): void => void lines.push(JSON.parse(line) as Record<string, unknown>);
  const logger = pino({ level: 'debug' }, { write });
  return { logger, lines };
}

type InstanceOf<K extends PluginKind> = K extends 'source' ? Source : K extends 'sink' ? Sink : Transform;

/** A planned instance whose create() is the given function (options are `{}`). */
export function planned<K extends PluginKind>(
  kind: K,
  name: string,
  create: (context: PluginContext) => InstanceOf<K> | Promise<InstanceOf<K>>,
  plugin = `${kind}-plugin`,
): PlannedInstance {
  // Built by hand: definePlugin's overloads cannot follow a generic kind.
  const definition = {
    apiVersion: PLUGIN_API_VERSION,
    kind,
    name: plugin,
    configSchema: z.object({}),
    create: (_config: unknown, context: PluginContext) => create(context),
  } as AnyPluginDefinition;
  return { kind, name, plugin, definition, config: {} };
}

/** A source that yields nothing and ends when its signal aborts. */
export function idleSource(): Source {
  return {
    async *start(_from, signal) {
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      yield* [];
    },
  };
}

export function nullSink(): Sink {
  return { apply: async (batch) => batch.map(() => ({ status: 'skipped', reason: 'test' })) };
}

export function identityTransform(): Transform {
  return { apply: async (entries) => entries };
}
