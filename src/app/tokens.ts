import type { InjectionToken } from 'tsyringe';
import type { LoadedConfig } from '../config/index.js';
import type { CsnClock } from '../format/index.js';
import type { Batch } from '../format/model.js';
import type { Logger } from '../logging/logger.js';
import type { PluginHost } from '../plugin-host/index.js';
import type { StateStore } from '../state/state-store.js';
import type { SubscriptionConfig } from '../config/schema.js';
import type { XsltTransform } from '../transform/index.js';
import type { Transport } from '../transport/xmpp-transport.js';
import type { AdminService } from '../admin/admin-service.js';
import type { AdminTarget } from '../admin/admin-target.js';

/** The container's tokens. Every injected parameter names one: no emitted type metadata. */
export const kConfig: InjectionToken<LoadedConfig> = Symbol('pubsync.config');
export const kLogger: InjectionToken<Logger> = Symbol('pubsync.logger');
export const kStateStore: InjectionToken<StateStore> = Symbol('pubsync.state-store');
export const kCsnClock: InjectionToken<CsnClock> = Symbol('pubsync.csn-clock');
export const kPluginHost: InjectionToken<PluginHost> = Symbol('pubsync.plugin-host');
/** Builds the transport once the daemon exists (it hands received batches to the daemon); null for none. */
export type TransportFactory = (receive: (subscription: string, batch: Batch) => Promise<void>) => Transport | null;
export const kTransportFactory: InjectionToken<TransportFactory> = Symbol('pubsync.transport-factory');
/** Builds a subscription's transform from its config; undefined when it names none. */
export type TransformFactory = (subscription: SubscriptionConfig) => XsltTransform | undefined;
export const kTransformFactory: InjectionToken<TransformFactory> = Symbol('pubsync.transform-factory');
/** Builds the daemon's operations side (metrics, admin endpoint, requested retries) once the daemon exists. */
export type AdminFactory = (daemon: AdminTarget) => AdminService;
export const kAdminFactory: InjectionToken<AdminFactory> = Symbol('pubsync.admin-factory');
