import type {
  PluginContext,
  Sink,
  SinkDefinition,
  Source,
  SourceDefinition,
  Transform,
  TransformDefinition,
} from '../plugin-api/index.js';

/**
 * Creates a plugin instance the way the host does: options through the plugin's own schema
 * (defaults applied, invalid options rejected with zod's message), then create().
 */
export async function instantiate(
  definition: SourceDefinition<unknown>,
  options: unknown,
  context: PluginContext,
): Promise<Source>;
export async function instantiate(
  definition: SinkDefinition<unknown>,
  options: unknown,
  context: PluginContext,
): Promise<Sink>;
export async function instantiate(
  definition: TransformDefinition<unknown>,
  options: unknown,
  context: PluginContext,
): Promise<Transform>;
export async function instantiate(
  definition: SourceDefinition<unknown> | SinkDefinition<unknown> | TransformDefinition<unknown>,
  options: unknown,
  context: PluginContext,
): Promise<Source | Sink | Transform> {
  const result = await definition.configSchema.safeParseAsync(options);
  if (!result.success) {
    throw new TypeError(`invalid options for ${definition.kind} plugin "${definition.name}": ${result.error.message}`);
  }
  return definition.create(result.data, context);
}
