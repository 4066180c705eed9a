import type { Logger } from 'pino';
import { ErrorCodes, isSyncError } from '../errors/index.js';
import type { Batch, Entry } from '../format/model.js';
import type { StateStore } from '../state/state-store.js';
import type { Applier, ApplyReport } from './applier.js';
import { Backoff, delay } from './backoff.js';
import { BoundedQueue } from './bounded-queue.js';

export interface InboundChannelOptions {
  readonly subscription: string;
  readonly applier: Applier;
  readonly store: StateStore;
  readonly serialize: (entry: Entry) => string;
  readonly logger: Logger;
  /** Batches waiting to be applied before receive() makes the transport wait. */
  readonly capacity?: number;
  readonly backoff?: Backoff;
  readonly onApplied?: (report: ApplyReport, batch: Batch) => void;
}

/**
 * What arrives for one subscription waits in a bounded queue and is applied in order by one
 * worker. A failing sink is retried with backoff while the queue fills, and a full queue makes
 * receive() wait: the backpressure reaches the transport, never memory.
 */
export class InboundChannel {
  readonly #options: InboundChannelOptions;
  readonly #queue: BoundedQueue<Batch>;
  #worker: Promise<void> | undefined;
  #turn: Promise<unknown> = Promise.resolve();

  constructor(options: InboundChannelOptions) {
    this.#options = options;
    this.#queue = new BoundedQueue(options.capacity ?? 16);
  }

  get depth(): number {
    return this.#queue.size;
  }

  start(signal: AbortSignal): void {
    this.#worker ??= this.#run(signal);
  }

  receive(batch: Batch, signal?: AbortSignal): Promise<void> {
    return this.#queue.push(this.#verified(batch), signal);
  }

  /**
   * Applies entries outside the queue (a dead-letter retry) without a high-water mark, never at
   * the same time as a queued batch: both merge against what the same sink applied. `applier`
   * is the subscription's own without its transform, for entries that were transformed already.
   */
  retry(entries: readonly Entry[], signal: AbortSignal, applier: Applier = this.#options.applier): Promise<ApplyReport> {
    return this.#exclusive(() => applier.apply(entries, signal));
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#turn.then(fn, fn);
    this.#turn = run.catch(() => undefined);
    return run;
  }

  /** Stops taking batches and waits until those already queued are applied (or the signal aborts). */
  async drain(): Promise<void> {
    this.#queue.close();
    await this.#worker;
  }

  async #run(signal: AbortSignal): Promise<void> {
    const backoff = this.#options.backoff ?? new Backoff();
    for await (const batch of this.#queue) {
      for (;;) {
        if (signal.aborted) return;
        try {
          const report = await this.#exclusive(() =>
            this.#options.applier.apply(batch.entries, signal, {
              origin: batch.origin.jid,
              seq: batch.lastSeq,
            }),
          );
          backoff.reset();
          this.#options.onApplied?.(report, batch);
          break;
        } catch (error) {
          if (signal.aborted) return;
          if (isSyncError(error) && error.code === ErrorCodes.STATE_IO) throw error;
          const wait = (isSyncError(error) ? error.retryAfterMs : undefined) ?? backoff.next();
          this.#options.logger.warn({ err: error, retryInMs: wait }, 'applying a batch failed, retrying');
          await delay(wait, signal);
        }
      }
    }
  }

  /** Entries must come from the replica that published the batch; anything else is dead-lettered. */
  #verified(batch: Batch): Batch {
    const entries = batch.entries.filter((entry) => {
      if (entry.origin.jid === batch.origin.jid && entry.origin.replica === batch.origin.replica) return true;
      const { store, subscription, serialize, logger } = this.#options;
      const message = `entry claims origin ${entry.origin.jid}#${entry.origin.replica} in a batch from ${batch.origin.jid}#${batch.origin.replica}`;
      store.addDeadLetter({
        where: `subscription:${subscription}`,
        entryId: entry.id,
        payload: serialize(entry),
        code: ErrorCodes.FORMAT_INVALID,
        message,
      });
      logger.warn({ entryId: entry.id }, message);
      return false;
    });
    return entries.length === batch.entries.length ? batch : { ...batch, entries };
  }
}
