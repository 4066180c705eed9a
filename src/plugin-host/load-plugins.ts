import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatPath, type ConfigProblem, type LoadedConfig, type PathSegment } from '../config/index.js';
import { ConfigError, ErrorCodes } from '../errors/index.js';
import { builtinPlugins } from './builtin-plugins.js';
import { definitionProblems, describeDefinition } from './check-definition.js';
import { configProblemsError } from '../config/config-problems-error.js';
import { PluginRegistry, type AnyPluginDefinition, type PluginOrigin } from './plugin-registry.js';
import { resolvePluginModule } from './resolve-plugin-module.js';

export type Locate = LoadedConfig['locate'];

export interface LoadPluginsOptions {
  /** The config file: relative paths and node_modules lookups start from its directory. */
  readonly file: string;
  /** The config's `plugins:` list. */
  readonly modules: readonly string[];
  /** Places `plugins[i]` in the file for messages (LoadedConfig.locate). */
  readonly locate?: Locate;
  /** The built-in plugins; builtinPlugins unless a test says otherwise. */
  readonly builtins?: readonly AnyPluginDefinition[];
}

/**
 * Builds the registry: built-ins, then each `plugins:` module in order. A module that cannot be
 * found, fails to load, or exports anything but valid definitions with unused names stops the
 * daemon with a ConfigError naming the module and its key path (`plugins[2]`).
 */
export async function loadPlugins(options: LoadPluginsOptions): Promise<PluginRegistry> {
  const registry = new PluginRegistry();
  const builtinProblems = register(registry, options.builtins ?? builtinPlugins, { module: 'built-in' });
  if (builtinProblems.length > 0) {
    throw new ConfigError(ErrorCodes.PLUGIN_INVALID, `built-in plugins are invalid: ${builtinProblems.join('; ')}`);
  }
  for (const [index, specifier] of options.modules.entries()) {
    await loadModule(registry, specifier, index, options);
  }
  return registry;
}

/** loadPlugins for a loaded config file. */
export function loadConfiguredPlugins(
  loaded: LoadedConfig,
  builtins?: readonly AnyPluginDefinition[],
): Promise<PluginRegistry> {
  return loadPlugins({
    file: loaded.file,
    modules: loaded.config.plugins,
    locate: loaded.locate,
    ...(builtins === undefined ? {} : { builtins }),
  });
}

async function loadModule(
  registry: PluginRegistry,
  specifier: string,
  index: number,
  options: LoadPluginsOptions,
): Promise<void> {
  const fail = (code: string, messages: readonly string[], cause?: unknown): ConfigError => {
    const path: PathSegment[] = ['plugins', index];
    const problems: ConfigProblem[] = messages.map((message) => ({
      file: options.file,
      path: formatPath(path),
      message,
      ...options.locate?.(path),
    }));
    return configProblemsError(options.file, problems, code, {
      details: { module: specifier, path: formatPath(path) },
      cause,
    });
  };
  const name = `plugin module "${specifier}"`;

  let resolution;
  try {
    resolution = resolvePluginModule(specifier, dirname(options.file));
  } catch (error) {
    throw fail(ErrorCodes.PLUGIN_LOAD_FAILED, [`${name} cannot be resolved: ${messageOf(error)}`], error);
  }
  if (!resolution.ok) throw fail(ErrorCodes.PLUGIN_NOT_FOUND, [`cannot find ${name}: ${resolution.reason}`]);

  let namespace: Record<string, unknown>;
  try {
    namespace = (await import(resolution.url)) as Record<string, unknown>;
  } catch (error) {
    if (isMissing(error, resolution.url)) {
      const file = fileURLToPath(resolution.url);
      throw fail(ErrorCodes.PLUGIN_NOT_FOUND, [`cannot find ${name}: there is no file ${file}`]);
    }
    // Found, but it threw or one of its own imports is missing: the module is broken, not absent.
    throw fail(ErrorCodes.PLUGIN_LOAD_FAILED, [`${name} failed to load: ${messageOf(error)}`], error);
  }

  const definitions = pluginsExport(namespace);
  if (!Array.isArray(definitions)) {
    const expected = 'an array of definitions from definePlugin()';
    throw fail(ErrorCodes.PLUGIN_INVALID, [`${name} does not export \`plugins\` (${expected})`]);
  }
  if (definitions.length === 0) throw fail(ErrorCodes.PLUGIN_INVALID, [`${name} exports an empty \`plugins\` array`]);
  const problems = register(registry, definitions, { module: specifier, url: resolution.url });
  if (problems.length > 0) throw fail(ErrorCodes.PLUGIN_INVALID, problems.map((problem) => `${name}: ${problem}`));
}

/** Checks every definition first, then adds them all or none. Returns the problems. */
function register(registry: PluginRegistry, definitions: readonly unknown[], origin: PluginOrigin): string[] {
  const problems: string[] = [];
  const accepted: AnyPluginDefinition[] = [];
  definitions.forEach((definition, i) => {
    const found = definitionProblems(definition);
    if (found.length > 0) {
      problems.push(...found.map((problem) => `${describeDefinition(definition, i)} ${problem}`));
      return;
    }
    const valid = definition as AnyPluginDefinition;
    const other = registry.find(valid.kind, valid.name);
    const twin = accepted.find((item) => item.kind === valid.kind && item.name === valid.name);
    if (other !== undefined || twin !== undefined) {
      const where = other === undefined ? 'this same module' : describeOrigin(other.origin);
      problems.push(
        `${valid.kind} plugin "${valid.name}" is already defined by ${where}; plugin names must be unique per kind`,
      );
      return;
    }
    accepted.push(valid);
  });
  if (problems.length === 0) for (const definition of accepted) registry.add(definition, origin);
  return problems;
}

function describeOrigin(origin: PluginOrigin): string {
  return origin.module === 'built-in' ? 'pubsync itself (built in)' : `plugin module "${origin.module}"`;
}

/** `plugins` as a named export, or on the default export of a CommonJS module. */
function pluginsExport(namespace: Record<string, unknown>): unknown {
  if (namespace['plugins'] !== undefined) return namespace['plugins'];
  const fallback = namespace['default'];
  if (fallback === null || typeof fallback !== 'object') return undefined;
  return (fallback as Record<string, unknown>)['plugins'];
}

/** True only when the missing module is the one we asked for, not something it imports. */
function isMissing(error: unknown, url: string): boolean {
  if (!(error instanceof Error) || (error as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') return false;
  const missing = (error as Error & { url?: unknown }).url;
  if (typeof missing === 'string') return missing === url;
  // Older Node versions carry no url: the message quotes the missing path.
  return error.message.includes(`'${fileURLToPath(url)}'`);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
