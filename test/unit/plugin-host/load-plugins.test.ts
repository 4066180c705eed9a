import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { parseConfig } from '../../../src/config/index.js';
import { ErrorCodes, type SyncError } from '../../../src/errors/index.js';
import { definePlugin } from '../../../src/plugin-api/index.js';
import { z } from 'zod';
import { loadConfiguredPlugins, loadPlugins, type PluginRegistry } from '../../../src/plugin-host/index.js';
import { definition, makeProject, packageJson, pluginModule } from './support.js';

/** Loads `modules` as a config file at `configPath` inside `root` would. */
function load(root: string, modules: string[], configPath = 'pubsync.yaml'): Promise<PluginRegistry> {
  return loadPlugins({ file: join(root, configPath), modules, builtins: [] });
}

function names(registry: PluginRegistry): string[] {
  return registry.list().map(({ definition }) => `${definition.kind}:${definition.name}`);
}

/** Asserts a ConfigError with this code whose message matches every pattern. */
function configError(code: string, ...patterns: RegExp[]) {
  return (error: SyncError): boolean => {
    assert.equal(error.kind, 'config', String(error));
    assert.equal(error.code, code, error.message);
    for (const pattern of patterns) assert.match(error.message, pattern);
    return true;
  };
}

describe('plugin module resolution', () => {
  it('loads an absolute path', async () => {
    const root = await makeProject({ 'lib/abs.mjs': pluginModule(definition('source', 'abs')) });
    const registry = await load(root, [join(root, 'lib', 'abs.mjs')], 'elsewhere/pubsync.yaml');
    assert.deepEqual(names(registry), ['source:abs']);
  });

  it('resolves a relative path against the config file’s directory, not the working directory', async () => {
    const root = await makeProject({ 'etc/plugins/rel.mjs': pluginModule(definition('sink', 'rel')) });
    assert.notEqual(process.cwd(), join(root, 'etc'));
    const registry = await load(root, ['./plugins/rel.mjs'], 'etc/pubsync.yaml');
    assert.deepEqual(names(registry), ['sink:rel']);
    assert.equal(registry.find('sink', 'rel')?.origin.url, pathToFileURL(join(root, 'etc/plugins/rel.mjs')).href);
  });

  it('prefers a file next to the config over a package of the same name', async () => {
    const root = await makeProject({
      'plugin.mjs': pluginModule(definition('source', 'local')),
      'node_modules/plugin.mjs/package.json': packageJson('plugin.mjs'),
      'node_modules/plugin.mjs/index.js': pluginModule(definition('source', 'packaged')),
    });
    assert.deepEqual(names(await load(root, ['plugin.mjs'])), ['source:local']);
  });

  it('finds a package in node_modules of the config directory or above it', async () => {
    const root = await makeProject({
      'node_modules/pubsync-plugin-up/package.json': packageJson('pubsync-plugin-up', { main: 'lib/main.js' }),
      'node_modules/pubsync-plugin-up/lib/main.js': pluginModule(definition('source', 'up')),
      'node_modules/@acme/pubsync-plugin/package.json': packageJson('@acme/pubsync-plugin'),
      'node_modules/@acme/pubsync-plugin/index.js': pluginModule(definition('sink', 'acme')),
    });
    const registry = await load(root, ['pubsync-plugin-up', '@acme/pubsync-plugin'], 'deep/config/pubsync.yaml');
    assert.deepEqual(names(registry), ['source:up', 'sink:acme']);
    assert.equal(registry.find('source', 'up')?.origin.module, 'pubsync-plugin-up');
  });

  it('takes a package’s import entry, as an ESM import would', async () => {
    const exportsField = {
      '.': { types: './index.d.ts', require: './cjs.cjs', import: './esm.js' },
      './extra': './extra.js',
    };
    const root = await makeProject({
      'node_modules/dual/package.json': packageJson('dual', { exports: exportsField }),
      'node_modules/dual/esm.js': pluginModule(definition('source', 'from-import')),
      'node_modules/dual/cjs.cjs': 'throw new Error("the require entry was loaded")',
      'node_modules/dual/extra.js': pluginModule(definition('sink', 'extra')),
    });
    assert.deepEqual(names(await load(root, ['dual', 'dual/extra'])), ['source:from-import', 'sink:extra']);
  });

  it('loads a directory path as a package', async () => {
    const root = await makeProject({
      'checkout/package.json': packageJson('checkout', { exports: './src/entry.js' }),
      'checkout/src/entry.js': pluginModule(definition('transform', 'dir')),
    });
    assert.deepEqual(names(await load(root, ['./checkout'])), ['transform:dir']);
  });

  it('loads the plugins of a loaded config', async () => {
    const root = await makeProject({ 'p.mjs': pluginModule(definition('source', 'p')) });
    const file = join(root, 'pubsync.yaml');
    const loaded = parseConfig('replica: { id: 1 }\nstate: { path: s.db }\nplugins: [./p.mjs]\n', file);
    assert.deepEqual(names(await loadConfiguredPlugins(loaded, [])), ['source:p']);
  });
});

describe('plugin module errors', () => {
  async function loadFromConfig(root: string, modules: string[]): Promise<PluginRegistry> {
    const file = join(root, 'pubsync.yaml');
    const list = modules.map((m) => `  - ${JSON.stringify(m)}\n`).join('');
    const text = `replica: { id: 1 }\nstate: { path: s.db }\nplugins:\n${list}`;
    return loadConfiguredPlugins(parseConfig(text, file), []);
  }

  it('reports a missing package as not found, naming the module, its key path and line', async () => {
    const root = await makeProject({ 'ok.mjs': pluginModule(definition('source', 'ok')) });
    await assert.rejects(
      loadFromConfig(root, ['./ok.mjs', 'pubsync-plugin-missing']),
      configError(
        ErrorCodes.PLUGIN_NOT_FOUND,
        /pubsync\.yaml:5:\d+: plugins\[1\]: cannot find plugin module "pubsync-plugin-missing"/,
        /no node_modules\/pubsync-plugin-missing in /,
      ),
    );
  });

  it('reports a missing file as not found', async () => {
    const root = await makeProject({});
    await assert.rejects(loadFromConfig(root, ['./nowhere.mjs']), (error: SyncError) => {
      configError(ErrorCodes.PLUGIN_NOT_FOUND, /plugins\[0\]: cannot find plugin module "\.\/nowhere\.mjs": there is no file/)(error);
      assert.equal(error.details['module'], './nowhere.mjs');
      assert.equal(error.details['path'], 'plugins[0]');
      return true;
    });
  });

  it('reports a module whose own import is missing as a load failure, not as not found', async () => {
    const root = await makeProject({ 'broken.mjs': `import 'pubsync-no-such-dependency';\nexport const plugins = [];` });
    await assert.rejects(
      loadFromConfig(root, ['./broken.mjs']),
      configError(ErrorCodes.PLUGIN_LOAD_FAILED, /plugin module "\.\/broken\.mjs" failed to load: .*pubsync-no-such-dependency/),
    );
  });

  it('reports a module that throws while loading, keeping the cause', async () => {
    const root = await makeProject({ 'throws.mjs': 'throw new Error("no database configured");' });
    await assert.rejects(loadFromConfig(root, ['./throws.mjs']), (error: SyncError) => {
      configError(ErrorCodes.PLUGIN_LOAD_FAILED, /failed to load: no database configured/)(error);
      assert.match(String((error.cause as Error).message), /no database configured/);
      return true;
    });
  });

  it('refuses a module without a `plugins` export', async () => {
    const root = await makeProject({ 'empty.mjs': 'export const plugin = {};' });
    await assert.rejects(
      loadFromConfig(root, ['./empty.mjs']),
      configError(ErrorCodes.PLUGIN_INVALID, /plugin module "\.\/empty\.mjs" does not export `plugins`/),
    );
  });

  it('refuses a plugin built for another API version', async () => {
    const future = '{ apiVersion: 2, kind: "source", name: "future", somethingNew: true }';
    const root = await makeProject({ 'future.mjs': `export const plugins = [${future}];` });
    await assert.rejects(
      loadFromConfig(root, ['./future.mjs']),
      configError(ErrorCodes.PLUGIN_INVALID, /\(source "future"\) is built for plugin API version 2, but this pubsync supports version 1/),
    );
  });

  it('lists every problem of a module’s definitions', async () => {
    const bad = '{ apiVersion: 1, kind: "pipe", name: "Not_Kebab" }';
    const root = await makeProject({ 'bad.mjs': `export const plugins = [${bad}, 42];` });
    await assert.rejects(
      loadFromConfig(root, ['./bad.mjs']),
      configError(
        ErrorCodes.PLUGIN_INVALID,
        /5 problems/,
        /has kind "pipe"/,
        /has name "Not_Kebab"; expected a kebab-case name/,
        /has no configSchema/,
        /its plugins\[1\] \(plugin\) is not a plugin definition/,
      ),
    );
  });

  it('refuses two plugins of the same kind and name, naming both modules', async () => {
    const root = await makeProject({
      'first.mjs': pluginModule(definition('source', 'twin'), definition('sink', 'twin')),
      'second.mjs': pluginModule(definition('source', 'twin')),
    });
    await assert.rejects(
      loadFromConfig(root, ['./first.mjs', './second.mjs']),
      configError(
        ErrorCodes.PLUGIN_INVALID,
        /plugins\[1\]: plugin module "\.\/second\.mjs": source plugin "twin" is already defined by plugin module "\.\/first\.mjs"/,
      ),
    );
  });

  it('refuses a third-party plugin that takes a built-in name', async () => {
    const builtin = definePlugin({
      kind: 'sink',
      name: 'couchdb',
      configSchema: z.object({}),
      create: () => ({ apply: async () => [] }),
    });
    const root = await makeProject({ 'imposter.mjs': pluginModule(definition('sink', 'couchdb')) });
    await assert.rejects(
      loadPlugins({ file: join(root, 'pubsync.yaml'), modules: ['./imposter.mjs'], builtins: [builtin] }),
      configError(ErrorCodes.PLUGIN_INVALID, /sink plugin "couchdb" is already defined by pubsync itself \(built in\)/),
    );
  });
});
