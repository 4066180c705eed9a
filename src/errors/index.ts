export * from './sync-error.js';
export * from './codes.js';
