import type { Logger } from 'pino';
import { ConfigError, ErrorCodes, SyncError } from '../errors/index.js';
import type { Clock, PluginContext, PluginKind, Sink, Source, Transform } from '../plugin-api/index.js';
import {
  HostedSink,
  HostedSource,
  HostedTransform,
  callPlugin,
  pluginError,
  type HostedInstance,
  type InstanceInfo,
} from './hosted-instances.js';
import { createPluginContext, type PluginStateStore } from './plugin-context.js';
import type { PlannedInstance } from './plan-instances.js';

export interface PluginHostOptions {
  /** The root logger; each instance gets a child bound to {plugin, kind, instance}. */
  readonly logger: Logger;
  readonly clock: Clock;
  readonly state: PluginStateStore;
  readonly replica: PluginContext['replica'];
  /** How long one plugin's close() may take before it is skipped. */
  readonly closeTimeoutMs?: number;
  /** How long the whole stop may take, all plugins together. */
  readonly stopDeadlineMs?: number;
}

/** What stop() did, by instance label (`sink:crm (couchdb)`). */
export interface StopReport {
  readonly closed: readonly string[];
  readonly failed: readonly string[];
  readonly timedOut: readonly string[];
}

/** Consumers exist before producers: sinks, then transforms, then sources. Stop is the reverse. */
const START_ORDER: Readonly<Record<PluginKind, number>> = { sink: 0, transform: 1, source: 2 };

const DEFAULT_CLOSE_TIMEOUT_MS = 5_000;
const DEFAULT_STOP_DEADLINE_MS = 15_000;

interface Running {
  readonly hosted: HostedInstance;
  readonly controller: AbortController;
}

/**
 * Runs the configured plugin instances: creates them in start order with their contexts, hands
 * the pipeline wrapped instances (every call into a plugin comes out with errors naming it),
 * and stops them in reverse within a deadline. Policy (retries, backoff, checkpoints) is the
 * pipeline's; the host only owns the instances' lives.
 */
export class PluginHost {
  readonly #planned: readonly PlannedInstance[];
  readonly #options: PluginHostOptions;
  readonly #log: Logger;
  readonly #running: Running[] = [];
  #started = false;
  #stopRequested = false;
  #creating: Promise<void> | undefined;
  #stopping: Promise<StopReport> | undefined;

  constructor(instances: readonly PlannedInstance[], options: PluginHostOptions) {
    // sort() is stable: within a kind, config order is kept.
    this.#planned = [...instances].sort((a, b) => START_ORDER[a.kind] - START_ORDER[b.kind]);
    this.#options = options;
    this.#log = options.logger.child({ component: 'plugin-host' });
  }

  /**
   * Creates every instance (create() does no I/O: plugins connect lazily). If one fails, the ones
   * already created are stopped and its error, naming it, is thrown.
   */
  async start(): Promise<void> {
    if (this.#started) throw new Error('PluginHost.start() may be called only once');
    this.#started = true;
    for (const planned of this.#planned) {
      if (this.#stopRequested) return;
      this.#creating = this.#create(planned);
      try {
        await this.#creating;
      } catch (error) {
        await this.stop();
        throw error;
      }
    }
    this.#log.info({ instances: this.#running.map((running) => running.hosted.label) }, 'plugins created');
  }

  get sources(): readonly HostedSource[] {
    return this.#instances(HostedSource);
  }

  get sinks(): readonly HostedSink[] {
    return this.#instances(HostedSink);
  }

  get transforms(): readonly HostedTransform[] {
    return this.#instances(HostedTransform);
  }

  source(name: string): HostedSource | undefined {
    return this.sources.find((source) => source.name === name);
  }

  sink(name: string): HostedSink | undefined {
    return this.sinks.find((sink) => sink.name === name);
  }

  transform(name: string): HostedTransform | undefined {
    return this.transforms.find((transform) => transform.name === name);
  }

  /**
   * Aborts every instance's signal, then closes them one by one in reverse start order, each
   * within closeTimeoutMs and all within stopDeadlineMs. A plugin that does not close in time is
   * logged (PLUGIN_STOP_TIMEOUT) and left behind: stopping never hangs. Safe to call repeatedly.
   */
  stop(): Promise<StopReport> {
    this.#stopRequested = true;
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<StopReport> {
    const deadline = performance.now() + (this.#options.stopDeadlineMs ?? DEFAULT_STOP_DEADLINE_MS);
    const remaining = (): number => Math.max(0, deadline - performance.now());
    // An instance being created right now is closed too, once its create() returns.
    if (this.#creating !== undefined) await settleWithin(this.#creating, remaining());

    const running = [...this.#running].reverse();
    // Abort everything first, so that no source keeps producing while sinks are being closed.
    const reason = new SyncError(ErrorCodes.SHUTDOWN, 'transient', 'pubsync is stopping');
    for (const { controller } of running) controller.abort(reason);

    const report = { closed: [] as string[], failed: [] as string[], timedOut: [] as string[] };
    for (const { hosted } of running) {
      const budget = Math.min(this.#options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS, remaining());
      const result = await settleWithin(hosted.close(), budget);
      if (result.status === 'done') {
        report.closed.push(hosted.label);
      } else if (result.status === 'failed') {
        report.failed.push(hosted.label);
        this.#log.error({ err: result.error, instance: hosted.label }, 'plugin failed to close');
      } else {
        report.timedOut.push(hosted.label);
        const timeoutMs = Math.round(budget);
        const message = `did not close within ${timeoutMs} ms; skipped`;
        const err = new SyncError(ErrorCodes.PLUGIN_STOP_TIMEOUT, 'transient', message, {
          plugin: hosted.label,
          details: { timeoutMs },
        });
        this.#log.warn({ err, code: err.code, instance: hosted.label }, 'plugin did not stop in time');
      }
    }
    this.#log.info(report, 'plugins stopped');
    return report;
  }

  async #create(planned: PlannedInstance): Promise<void> {
    const info: InstanceInfo = { kind: planned.kind, name: planned.name, plugin: planned.plugin };
    const controller = new AbortController();
    const context = createPluginContext({ ...info, ...this.#options, signal: controller.signal });
    const create = (): unknown => planned.definition.create(planned.config, context);
    const instance = await callPlugin(info, 'create', create);
    this.#running.push({ hosted: hostedInstance(info, instance, controller.signal), controller });
  }

  #instances<T extends HostedInstance>(type: abstract new (...args: never[]) => T): T[] {
    return this.#running.map((running) => running.hosted).filter((hosted): hosted is T => hosted instanceof type);
  }
}

/** Checks what create() returned against its kind before anything relies on it. */
function hostedInstance(info: InstanceInfo, instance: unknown, signal: AbortSignal): HostedInstance {
  const method = info.kind === 'source' ? 'start' : 'apply';
  const candidate = instance as Record<string, unknown> | null | undefined;
  if (candidate === null || typeof candidate !== 'object' || typeof candidate[method] !== 'function') {
    const message = `create() returned no ${info.kind} (it has no ${method}() method)`;
    const problem = new ConfigError(ErrorCodes.PLUGIN_INVALID, message);
    throw pluginError(info, 'create', problem);
  }
  switch (info.kind) {
    case 'source':
      return new HostedSource(info, instance as Source, signal);
    case 'sink':
      return new HostedSink(info, instance as Sink, signal);
    case 'transform':
      return new HostedTransform(info, instance as Transform, signal);
  }
}

type Settled = { status: 'done' } | { status: 'failed'; error: unknown } | { status: 'timeout' };

/** Waits for a promise at most `ms`; a late rejection is still handled (and dropped). */
function settleWithin(promise: Promise<unknown>, ms: number): Promise<Settled> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Settled>((resolve) => {
    timer = setTimeout(() => resolve({ status: 'timeout' }), ms);
  });
  const settled = promise.then(
    (): Settled => ({ status: 'done' }),
    (error: unknown): Settled => ({ status: 'failed', error }),
  );
  return Promise.race([settled, timeout]).finally(() => clearTimeout(timer));
}

