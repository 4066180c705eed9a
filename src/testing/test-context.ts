import { pino, type Logger } from 'pino';
import type { Clock, PluginContext, PluginKind } from '../plugin-api/index.js';
import { createPluginContext, type PluginStateStore } from '../plugin-host/plugin-context.js';
import { MemoryPluginState } from './memory-plugin-state.js';

export interface TestContextOptions {
  readonly kind?: PluginKind;
  /** The instance name; "test" by default. */
  readonly name?: string;
  readonly plugin?: string;
  /** Share one state between contexts to keep a plugin's durable state across a "restart". */
  readonly state?: PluginStateStore;
  readonly signal?: AbortSignal;
  readonly clock?: Clock;
  /** Silent by default. */
  readonly logger?: Logger;
  readonly replica?: PluginContext['replica'];
}

/** A PluginContext as the host builds it, over in-memory state: for plugin unit tests. */
export function createTestContext(options: TestContextOptions = {}): PluginContext {
  return createPluginContext({
    kind: options.kind ?? 'source',
    name: options.name ?? 'test',
    plugin: options.plugin ?? 'test',
    logger: options.logger ?? pino({ level: 'silent' }),
    clock: options.clock ?? { now: () => Date.now() },
    signal: options.signal ?? new AbortController().signal,
    replica: options.replica ?? { id: 1, jid: 'test@example.org' },
    state: options.state ?? new MemoryPluginState(),
  });
}
