/** The plugin host, for the composition root: load plugins, validate instances, run them. */
export * from './plugin-registry.js';
export * from './builtin-plugins.js';
export * from './load-plugins.js';
export * from './plan-instances.js';
export * from './plugin-context.js';
export * from './hosted-instances.js';
export * from './plugin-host.js';
export { resolvePluginModule, type ModuleResolution } from './resolve-plugin-module.js';
