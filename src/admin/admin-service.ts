import type { Config } from '../config/schema.js';
import type { Logger } from '../logging/logger.js';
import type { StateStore } from '../state/state-store.js';
import { XmppTransport } from '../transport/xmpp-transport.js';
import { adminAddressFile, removeAdminAddress, writeAdminAddress } from './admin-address.js';
import { parseListen } from './admin-config.js';
import { AdminServer } from './admin-server.js';
import type { AdminTarget } from './admin-target.js';
import { performRequestedRetries, retryAll, retryIds, type RetryOutcome } from './dlq-retry.js';
import { isReady, readLiveStatus, type LiveStatus } from './live-status.js';
import { DaemonMetrics } from './metrics.js';
import { readStoredStatus, type StoredStatus } from './stored-status.js';

export interface AdminServiceOptions {
  readonly target: AdminTarget;
  readonly store: StateStore;
  readonly config: Config;
  readonly logger: Logger;
}

/** What `GET /status` answers: the state database's reading plus what only the running daemon knows. */
export interface DaemonStatus extends StoredStatus {
  readonly live: LiveStatus;
}

/**
 * The daemon's operations side: metrics from its events, the admin endpoint (when enabled) with
 * its address written beside the state database for the CLI, and the dead-letter retries asked
 * for while it was stopped. The daemon calls start() first thing (so /healthz and /readyz answer
 * while it connects and catches up), started() once it runs, and stop() first thing on the way down.
 */
export class AdminService {
  readonly metrics = new DaemonMetrics();
  readonly #options: AdminServiceOptions;
  readonly #addressFile: string;
  #server: AdminServer | undefined;
  #url: string | undefined;
  #unobserve: (() => void) | undefined;
  #requested: Promise<unknown> = Promise.resolve();
  readonly #retrying = new Set<Promise<unknown>>();
  #stopping = false;

  constructor(options: AdminServiceOptions) {
    this.#options = options;
    this.#addressFile = adminAddressFile(options.config.state.path);
  }

  /** The bound URL while the endpoint listens. */
  get url(): string | undefined {
    return this.#url;
  }

  async start(): Promise<void> {
    const { target, config, logger } = this.#options;
    const sinkOf = new Map(config.subscriptions.map((s) => [s.name, s.sink]));
    this.#unobserve = this.metrics.observe(target, (subscription) => sinkOf.get(subscription) ?? '');
    if (!config.admin.enabled) return;
    const listen = parseListen(config.admin.listen);
    if (!listen) throw new Error(`admin.listen: not host:port: ${config.admin.listen}`); // the schema refused it already
    const server = new AdminServer({ listen, allowRemote: config.admin.allowRemote, logger, routes: this.#routes() });
    this.#url = await server.listen();
    this.#server = server;
    writeAdminAddress(this.#addressFile, { url: this.#url, pid: process.pid });
    logger.info({ admin: this.#url, addressFile: this.#addressFile }, 'admin endpoint listening');
  }

  /** The daemon runs: perform the retries recorded while it was stopped (in the background). */
  started(): void {
    const { target, store, logger } = this.#options;
    this.#requested = performRequestedRetries(target, store, logger, () => this.#stopping).catch((error: unknown) =>
      logger.error({ err: error }, 'dead-letter retries requested while stopped failed; they stay recorded'),
    );
  }

  status(): DaemonStatus {
    const { store, config, target } = this.#options;
    return { ...readStoredStatus(store, config.state.path), live: readLiveStatus(target, store, config) };
  }

  async retry(request: { ids?: readonly number[]; all?: boolean }): Promise<RetryOutcome[]> {
    const { target, store, logger } = this.#options;
    const stopping = (): boolean => this.#stopping;
    const run = request.all ? retryAll(target, store, stopping) : retryIds(target, store, request.ids ?? [], stopping);
    const settled = run.catch(() => undefined);
    this.#retrying.add(settled);
    void settled.then(() => this.#retrying.delete(settled));
    const outcomes = await run;
    logger.info({ outcomes }, 'dead-letter retry performed');
    return outcomes;
  }

  /** Closes the endpoint; a retry under way finishes the letter it is at and leaves the rest. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#unobserve?.();
    await this.#server?.close();
    if (this.#server) removeAdminAddress(this.#addressFile);
    this.#server = undefined;
    this.#url = undefined;
    await Promise.all([this.#requested, ...this.#retrying]);
  }

  #routes(): ConstructorParameters<typeof AdminServer>[0]['routes'] {
    const { target, store, config } = this.#options;
    return {
      healthz: () => undefined,
      readyz: () => ({ ready: isReady(target), reasons: notReadyReasons(target) }),
      metrics: () => this.metrics.render(readLiveStatus(target, store, config), store),
      metricsContentType: this.metrics.registry.contentType,
      status: () => this.status(),
      retry: (request) => this.retry(request),
    };
  }
}

function notReadyReasons(target: AdminTarget): string[] {
  if (!target.started) return ['starting'];
  const transport = target.transport;
  if (!(transport instanceof XmppTransport)) return [];
  const reasons: string[] = [];
  if (!transport.connection.online) reasons.push('not connected to the XMPP server');
  const behind = transport.subscriber.tracks().filter((t) => !t.caughtUp).map((t) => t.name);
  if (behind.length > 0) reasons.push(`catching up: ${behind.join(', ')}`);
  return reasons;
}
