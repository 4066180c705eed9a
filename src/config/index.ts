export * from './schema.js';
export * from './config-problem.js';
export * from './load-config.js';
export * from './cross-check.js';
export * from './config-problems-error.js';
