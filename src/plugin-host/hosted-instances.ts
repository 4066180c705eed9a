import { wrapPluginError, type SyncError } from '../errors/index.js';
import type {
  ApplyOutcome,
  AttachmentContent,
  Entry,
  PluginKind,
  Sink,
  SinkOperation,
  Source,
  SourceBatch,
  SourceKey,
  Transform,
} from '../plugin-api/index.js';

/** Which instance a hosted plugin is, as errors and logs name it. */
export interface InstanceInfo {
  readonly kind: PluginKind;
  /** The instance name from the config. */
  readonly name: string;
  /** The plugin name. */
  readonly plugin: string;
}

/** How errors name an instance: `source:people (jsonl)`, the same `kind:name` as its store scope. */
export function instanceLabel(info: InstanceInfo): string {
  return `${info.kind}:${info.name} (${info.plugin})`;
}

/**
 * Calls into a plugin so that whatever it throws comes out as a SyncError naming it and the hook.
 * Everything that crosses the plugin boundary goes through here.
 */
export async function callPlugin<T>(info: InstanceInfo, hook: string, call: () => T | Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw pluginError(info, hook, error);
  }
}

export function pluginError(info: InstanceInfo, hook: string, error: unknown): SyncError {
  return wrapPluginError(error, instanceLabel(info), hook);
}

function contractError(info: InstanceInfo, hook: string, message: string): SyncError {
  return pluginError(info, hook, new Error(message));
}

abstract class Hosted<T extends { close?(): Promise<void> }> {
  readonly label: string;
  constructor(
    readonly info: InstanceInfo,
    protected readonly plugin: T,
    /** The instance's signal: aborted when the host stops. */
    protected readonly signal: AbortSignal,
  ) {
    this.label = instanceLabel(info);
  }

  get name(): string {
    return this.info.name;
  }

  /** Only the host calls this, once, within its stop deadline. */
  async close(): Promise<void> {
    await callPlugin(this.info, 'close', () => this.plugin.close?.());
  }

  protected combined(signal: AbortSignal | undefined): AbortSignal {
    return signal === undefined ? this.signal : AbortSignal.any([this.signal, signal]);
  }
}

/** A source as the pipeline sees it: same interface, errors wrapped, batches checked. */
export class HostedSource extends Hosted<Source> implements Source {
  get skipsSinkWrites(): boolean {
    return this.plugin.skipsSinkWrites === true;
  }

  /** `signal` (optional) ends this iteration only, e.g. to restart it; the host's stop ends all. */
  start(from: string | undefined, signal?: AbortSignal): AsyncIterable<SourceBatch> {
    return this.#iterate(from, this.combined(signal));
  }

  async *#iterate(from: string | undefined, signal: AbortSignal): AsyncGenerator<SourceBatch> {
    const iterator = await callPlugin(this.info, 'start', () =>
      this.plugin.start(from, signal)[Symbol.asyncIterator](),
    );
    let finished = false;
    try {
      for (;;) {
        let step: IteratorResult<SourceBatch>;
        try {
          step = await iterator.next();
        } catch (error) {
          finished = true;
          throw pluginError(this.info, 'start', error);
        }
        if (step.done === true) {
          finished = true;
          return;
        }
        yield this.#checked(step.value);
      }
    } finally {
      // The consumer stopped early (or a batch was malformed): let the plugin release what it holds.
      if (!finished) await callPlugin(this.info, 'start', () => iterator.return?.());
    }
  }

  /** Undefined when the plugin has no readAttachment (the attachment cannot be served). */
  readAttachment(keys: readonly SourceKey[], name: string, signal?: AbortSignal): Promise<AttachmentContent | undefined> {
    return callPlugin(this.info, 'readAttachment', () => this.plugin.readAttachment?.(keys, name, this.combined(signal)));
  }

  #checked(batch: SourceBatch): SourceBatch {
    const valid = batch !== null && typeof batch === 'object' && Array.isArray(batch.changes);
    if (!valid || typeof batch.checkpoint !== 'string') {
      throw contractError(this.info, 'start', 'yielded something other than a batch { changes, checkpoint: string }');
    }
    return batch;
  }
}

export class HostedSink extends Hosted<Sink> implements Sink {
  async apply(batch: readonly SinkOperation[], signal?: AbortSignal): Promise<readonly ApplyOutcome[]> {
    const outcomes = await callPlugin(this.info, 'apply', () => this.plugin.apply(batch, this.combined(signal)));
    // The core pairs outcomes with operations by position; a short list would misattribute them.
    if (!Array.isArray(outcomes) || outcomes.length !== batch.length) {
      throw contractError(
        this.info,
        'apply',
        `returned ${Array.isArray(outcomes) ? outcomes.length : 'no'} outcomes for ${batch.length} operations`,
      );
    }
    return outcomes;
  }
}

export class HostedTransform extends Hosted<Transform> implements Transform {
  async apply(entries: readonly Entry[], signal?: AbortSignal): Promise<readonly Entry[]> {
    const result = await callPlugin(this.info, 'apply', () => this.plugin.apply(entries, this.combined(signal)));
    if (!Array.isArray(result)) {
      throw contractError(this.info, 'apply', 'returned something other than an array of entries');
    }
    return result;
  }
}

export type HostedInstance = HostedSource | HostedSink | HostedTransform;
