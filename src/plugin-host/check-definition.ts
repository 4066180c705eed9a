import { PLUGIN_API_VERSION } from '../plugin-api/index.js';
import { PLUGIN_KINDS, type AnyPluginDefinition } from './plugin-registry.js';

const KEBAB_CASE = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;

/**
 * Checks what a module exported as one plugin definition. Plugins are loaded from code we did
 * not type-check (plain JS, an older build), so nothing about their shape is assumed. Returns
 * the problems; none means the value is a usable definition.
 */
export function definitionProblems(value: unknown): string[] {
  if (value === null || typeof value !== 'object') {
    return ['is not a plugin definition (an object from definePlugin())'];
  }
  const candidate = value as Record<string, unknown>;
  const apiVersion = candidate['apiVersion'];
  // A plugin for another API version may have any shape: say only what matters.
  if (apiVersion === undefined) return ['has no apiVersion: declare it with definePlugin() from pubsync/plugin-api'];
  if (apiVersion !== PLUGIN_API_VERSION) {
    return [
      `is built for plugin API version ${String(apiVersion)}, but this pubsync supports version ` +
        `${PLUGIN_API_VERSION}: use a release of the plugin built for it`,
    ];
  }
  const problems: string[] = [];
  const kind = candidate['kind'];
  if (typeof kind !== 'string' || !(PLUGIN_KINDS as readonly string[]).includes(kind)) {
    problems.push(`has kind ${JSON.stringify(kind)}; expected one of ${PLUGIN_KINDS.join(', ')}`);
  }
  const name = candidate['name'];
  if (typeof name !== 'string' || !KEBAB_CASE.test(name)) {
    problems.push(`has name ${JSON.stringify(name)}; expected a kebab-case name such as "my-system"`);
  }
  const schema = candidate['configSchema'] as Record<string, unknown> | null | undefined;
  if (schema === null || typeof schema !== 'object' || typeof schema['safeParseAsync'] !== 'function') {
    problems.push('has no configSchema (a zod schema for its options)');
  }
  if (typeof candidate['create'] !== 'function') problems.push('has no create() function');
  return problems;
}

export function isPluginDefinition(value: unknown): value is AnyPluginDefinition {
  return definitionProblems(value).length === 0;
}

/** How a definition is named in messages before we know it is valid. */
export function describeDefinition(value: unknown, index: number): string {
  const record = value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : {};
  const kind = typeof record['kind'] === 'string' ? record['kind'] : 'plugin';
  const name = typeof record['name'] === 'string' ? ` "${record['name']}"` : '';
  return `its plugins[${index}] (${kind}${name})`;
}
