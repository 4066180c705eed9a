import type { z } from 'zod';
import type { PluginContext } from './context.js';
import type { Sink, Source, Transform } from './roles.js';

/** Bumped on any incompatible change to this module; the host refuses plugins built for another. */
export const PLUGIN_API_VERSION = 1;

interface DefinitionBase<Kind extends string, Config, Instance> {
  readonly apiVersion: typeof PLUGIN_API_VERSION;
  readonly kind: Kind;
  /** kebab-case, unique per kind; what `plugin:` in the config names. */
  readonly name: string;
  readonly summary?: string;
  /** Validates `options` in the config before anything starts. */
  readonly configSchema: z.ZodType<Config>;
  /** Builds an instance. No I/O here that could fail slowly: connect lazily in start/apply. */
  create(config: Config, context: PluginContext): Instance | Promise<Instance>;
}

export type SourceDefinition<Config = unknown> = DefinitionBase<'source', Config, Source>;
export type SinkDefinition<Config = unknown> = DefinitionBase<'sink', Config, Sink>;
export type TransformDefinition<Config = unknown> = DefinitionBase<'transform', Config, Transform>;

export type PluginDefinition = SourceDefinition<unknown> | SinkDefinition<unknown> | TransformDefinition<unknown>;

export type PluginKind = PluginDefinition['kind'];

type WithoutVersion<T> = T extends unknown ? Omit<T, 'apiVersion'> : never;

/**
 * Declares a plugin. A plugin module exports `plugins`, an array of these:
 *
 *   export const plugins = [definePlugin({ kind: 'source', name: 'jsonl', configSchema, create })];
 */
export function definePlugin<Config>(definition: WithoutVersion<SourceDefinition<Config>>): SourceDefinition<Config>;
export function definePlugin<Config>(definition: WithoutVersion<SinkDefinition<Config>>): SinkDefinition<Config>;
export function definePlugin<Config>(
  definition: WithoutVersion<TransformDefinition<Config>>,
): TransformDefinition<Config>;
export function definePlugin(definition: object): object {
  return Object.freeze({ ...definition, apiVersion: PLUGIN_API_VERSION });
}
