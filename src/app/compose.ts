import 'reflect-metadata';
import { container as rootContainer, type DependencyContainer } from 'tsyringe';
import { loadConfig, type LoadedConfig } from '../config/index.js';
import { CsnClock } from '../format/index.js';
import { createLogger, type Logger } from '../logging/logger.js';
import { loadConfiguredPlugins, planInstances, PluginHost, type AnyPluginDefinition } from '../plugin-host/index.js';
import { openStateStore } from '../state/index.js';
import { AdminService } from '../admin/admin-service.js';
import { Daemon } from './daemon.js';
import { XmppTransport } from '../transport/xmpp-transport.js';
import type { CatchUpProgress } from '../transport/catch-up.js';
import { createXsltTransform, resolveStylesheet } from '../transform/index.js';
import {
  kAdminFactory,
  kConfig,
  kCsnClock,
  kLogger,
  kPluginHost,
  kStateStore,
  kTransformFactory,
  kTransportFactory,
  type AdminFactory,
  type TransformFactory,
  type TransportFactory,
} from './tokens.js';

export interface ComposeOptions {
  readonly logger?: Logger;
  /** Built-in plugins; the shipped ones unless a test says otherwise. */
  readonly builtins?: readonly AnyPluginDefinition[];
  /** Told after every catch-up page (the CLI's progress bar). */
  readonly onCatchUpProgress?: (progress: CatchUpProgress) => void;
}

/**
 * The composition root, and the only place that knows the container. Async resources (config,
 * plugins, the state database) are made first and registered as values; the daemon is resolved
 * from them. Every plugin and its options are validated before anything is opened or started.
 */
export async function composeDaemon(configFile: string, options: ComposeOptions = {}): Promise<Daemon> {
  const loaded = await loadConfig(configFile);
  return composeFromConfig(loaded, options);
}

export async function composeFromConfig(loaded: LoadedConfig, options: ComposeOptions = {}): Promise<Daemon> {
  const { config } = loaded;
  const logger = options.logger ?? createLogger({ level: config.log.level });
  const registry = await loadConfiguredPlugins(loaded, options.builtins);
  const planned = await planInstances(registry, loaded);
  const store = openStateStore(config.state.path);
  // The newest logged CSN keeps the clock monotonic across restarts, even if the wall clock went back.
  const last = store.readOutbound(store.lastOutboundSeq() - 1n, 1)[0]?.csn;
  const clock = new CsnClock({ replica: config.replica.id, ...(last === undefined ? {} : { after: last }) });
  const replica = { id: config.replica.id, ...(config.xmpp ? { jid: config.xmpp.jid } : {}) };
  const host = new PluginHost(planned, { logger, clock: { now: Date.now }, state: store, replica });

  const container: DependencyContainer = rootContainer.createChildContainer();
  container.register(kConfig, { useValue: loaded });
  container.register(kLogger, { useValue: logger });
  container.register(kStateStore, { useValue: store });
  container.register(kCsnClock, { useValue: clock });
  container.register(kPluginHost, { useValue: host });
  const { xmpp } = config;
  const transport: TransportFactory = (receive) =>
    xmpp
      ? new XmppTransport({
          config: { ...config, xmpp },
          store,
          logger,
          receive,
          ...(options.onCatchUpProgress ? { onCatchUpProgress: options.onCatchUpProgress } : {}),
          readAttachment: (source, keys, name, signal) => host.source(source)?.readAttachment(keys, name, signal) ?? Promise.resolve(undefined),
        })
      : null;
  container.register(kTransportFactory, { useValue: transport });
  const transformOf: TransformFactory = ({ transform }) =>
    transform &&
    createXsltTransform({
      // Relative stylesheet paths are relative to the config file, as `pubsync check` reads them.
      stylesheet: resolveStylesheet(loaded.file, transform.stylesheet),
      params: transform.params,
      timeoutMs: transform.timeoutMs,
      maxMemoryMb: transform.maxMemoryMb,
    });
  container.register(kTransformFactory, { useValue: transformOf });
  const admin: AdminFactory = (target) => new AdminService({ target, store, config, logger: logger.child({ component: 'admin' }) });
  container.register(kAdminFactory, { useValue: admin });
  return container.resolve(Daemon);
}
