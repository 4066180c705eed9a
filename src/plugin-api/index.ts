/**
 * The plugin API: the one module plugins import (as `pubsync/plugin-api`). Everything a source,
 * sink or transform needs, and nothing of the core's internals.
 */
export * from './define-plugin.js';
export * from './context.js';
export * from './roles.js';
export * from './change.js';
export { ABSENT as ABSENT_PART, fieldHash as partHash } from '../pipeline/object-hash.js';
export type * from '../format/model.js';
export {
  SyncError,
  ConfigError,
  NotConnectedError,
  TransientError,
  RecordError,
  ErrorCodes,
  type ErrorKind,
} from '../errors/index.js';
