import {
  formatPath,
  problemsFromZod,
  type Config,
  type ConfigProblem,
  type LoadedConfig,
  type PathSegment,
} from '../config/index.js';
import type { PluginKind } from '../plugin-api/index.js';
import { configProblemsError } from '../config/config-problems-error.js';
import type { AnyPluginDefinition, PluginRegistry } from './plugin-registry.js';

/** One configured instance, before validation: where it is in the file and what it asks for. */
export interface InstanceSpec {
  readonly kind: PluginKind;
  /** The instance name (`sources[].name`). */
  readonly name: string;
  /** The plugin name (`sources[].plugin`). */
  readonly plugin: string;
  readonly options: unknown;
  /** Key path of the instance in the file, e.g. ['sources', 0]. */
  readonly path: readonly PathSegment[];
}

/** An instance whose plugin exists and whose options its schema accepted (with defaults applied). */
export interface PlannedInstance {
  readonly kind: PluginKind;
  readonly name: string;
  readonly plugin: string;
  readonly definition: AnyPluginDefinition;
  readonly config: unknown;
}

/** Where instances live in the config. A `transforms:` section would be one more line. */
const SECTIONS = [
  ['sink', 'sinks'],
  ['source', 'sources'],
] as const satisfies readonly (readonly [PluginKind, keyof Config])[];

export function instanceSpecs(config: Pick<Config, 'sources' | 'sinks'>): InstanceSpec[] {
  return SECTIONS.flatMap(([kind, key]) =>
    config[key].map((instance, index) => ({
      kind,
      name: instance.name,
      plugin: instance.plugin,
      options: instance.options,
      path: [key, index],
    })),
  );
}

/**
 * Checks every instance before anything starts: its plugin exists, its options pass the plugin's
 * schema. All problems of all instances come back together in one ConfigError (CONFIG_INVALID),
 * with key paths such as `sources[0].options.url` and their line and column.
 */
export async function validateInstances(
  registry: PluginRegistry,
  specs: readonly InstanceSpec[],
  where: { readonly file: string; readonly locate?: LoadedConfig['locate'] },
): Promise<PlannedInstance[]> {
  const problems: ConfigProblem[] = [];
  const planned: PlannedInstance[] = [];
  const problem = (path: readonly PathSegment[], message: string, extra: Partial<ConfigProblem> = {}): void => {
    problems.push({ file: where.file, path: formatPath(path), message, ...extra, ...where.locate?.(path) });
  };
  for (const spec of specs) {
    const definition = registry.get(spec.kind, spec.plugin);
    if (definition === undefined) {
      const available = registry.names(spec.kind);
      problem([...spec.path, 'plugin'], `unknown ${spec.kind} plugin "${spec.plugin}"`, {
        expected:
          available.length === 0
            ? `a ${spec.kind} plugin, but none is available (third-party ones are listed under \`plugins\`)`
            : `one of ${available.join(', ')}`,
      });
      continue;
    }
    const optionsPath = [...spec.path, 'options'];
    let result;
    try {
      result = await definition.configSchema.safeParseAsync(spec.options);
    } catch (error) {
      problem(optionsPath, `the ${spec.kind} plugin "${spec.plugin}" failed to check its options: ${String(error)}`);
      continue;
    }
    if (!result.success) {
      problems.push(...problemsFromZod(result.error.issues, spec.options, where.file, optionsPath, where.locate));
      continue;
    }
    planned.push({ kind: spec.kind, name: spec.name, plugin: spec.plugin, definition, config: result.data });
  }
  if (problems.length > 0) throw configProblemsError(where.file, problems);
  return planned;
}

/** validateInstances for a loaded config file. */
export function planInstances(registry: PluginRegistry, loaded: LoadedConfig): Promise<PlannedInstance[]> {
  return validateInstances(registry, instanceSpecs(loaded.config), loaded);
}
