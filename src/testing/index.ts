/**
 * Test support for plugin authors, imported as `pubsync/testing`: the contract suites every
 * source and sink must pass, a PluginContext over in-memory state, and entry builders.
 */
export { sourceContract, type SourceHarness, type SourceFixture } from './source-contract.js';
export { sinkContract, type SinkHarness, type SinkFixture, type ObjectState } from './sink-contract.js';
export { createTestContext, type TestContextOptions } from './test-context.js';
export { MemoryPluginState } from './memory-plugin-state.js';
export { instantiate } from './instantiate.js';
export { BatchCollector } from './batch-collector.js';
export {
  TEST_ORIGIN,
  formatCsn,
  nextCsn,
  objectEntry,
  reviseEntry,
  stringFields,
  tombstoneEntry,
  tombstoneOf,
  type CsnParts,
  type ObjectEntryInput,
  type StringFields,
} from './entries.js';
