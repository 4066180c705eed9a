export * from './state-store.js';
export {
  DEFAULT_PAGE_SIZE,
  MEMORY_DATABASE,
  SqliteStateStore,
  openStateStore,
  type StateStoreOptions,
  type SynchronousMode,
} from './sqlite-state-store.js';
export {
  APPLICATION_ID,
  MIGRATIONS,
  SCHEMA_VERSION,
  migrate,
  readVersion,
  type Migration,
  type MigrationResult,
} from './migrations.js';
