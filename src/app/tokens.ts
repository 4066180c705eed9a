import type { InjectionToken } from 'tsyringe';
import type { LoadedConfig } from '../config/index.js';
import type { CsnClock } from '../format/index.js';
import type { Logger } from '../logging/logger.js';
import type { PluginHost } from '../plugin-host/index.js';
import type { StateStore } from '../state/state-store.js';

/** The container's tokens. Every injected parameter names one: no emitted type metadata. */
export const kConfig: InjectionToken<LoadedConfig> = Symbol('pubsync.config');
export const kLogger: InjectionToken<Logger> = Symbol('pubsync.logger');
export const kStateStore: InjectionToken<StateStore> = Symbol('pubsync.state-store');
export const kCsnClock: InjectionToken<CsnClock> = Symbol('pubsync.csn-clock');
export const kPluginHost: InjectionToken<PluginHost> = Symbol('pubsync.plugin-host');
