import type { PluginDefinition, PluginKind } from '../plugin-api/index.js';

/** Any definition, whatever its config type: the host only passes options its schema has just parsed. */
export type AnyPluginDefinition = PluginDefinition;

export type DefinitionOf<K extends PluginKind> = Extract<AnyPluginDefinition, { readonly kind: K }>;

export const PLUGIN_KINDS: readonly PluginKind[] = ['source', 'sink', 'transform'];

/** Where a definition came from: for error messages and `pubsync plugins`. */
export interface PluginOrigin {
  /** "built-in", or the module specifier exactly as written in `plugins:`. */
  readonly module: string;
  /** The file it was loaded from, for third-party modules. */
  readonly url?: string;
}

export interface RegisteredPlugin {
  readonly definition: AnyPluginDefinition;
  readonly origin: PluginOrigin;
}

/** The plugins available to a config: built-ins plus those its `plugins:` list loaded. */
export class PluginRegistry {
  readonly #plugins = new Map<string, RegisteredPlugin>();

  /** Registers a definition; the caller has checked there is no other of the same kind and name. */
  add(definition: AnyPluginDefinition, origin: PluginOrigin): void {
    const key = keyOf(definition.kind, definition.name);
    if (this.#plugins.has(key)) throw new Error(`duplicate ${definition.kind} plugin "${definition.name}"`);
    this.#plugins.set(key, { definition, origin });
  }

  find(kind: PluginKind, name: string): RegisteredPlugin | undefined {
    return this.#plugins.get(keyOf(kind, name));
  }

  get<K extends PluginKind>(kind: K, name: string): DefinitionOf<K> | undefined {
    return this.find(kind, name)?.definition as DefinitionOf<K> | undefined;
  }

  /** Plugin names of one kind, sorted: what an "unknown plugin" problem lists. */
  names(kind: PluginKind): string[] {
    return this.list()
      .filter((plugin) => plugin.definition.kind === kind)
      .map((plugin) => plugin.definition.name)
      .sort();
  }

  list(): RegisteredPlugin[] {
    return [...this.#plugins.values()];
  }
}

function keyOf(kind: PluginKind, name: string): string {
  return `${kind}:${name}`;
}
