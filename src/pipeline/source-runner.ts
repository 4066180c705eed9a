import type { Logger } from 'pino';
import { ErrorCodes, isSyncError, wrapPluginError, type SyncError } from '../errors/index.js';
import type { Source } from '../plugin-api/roles.js';
import type { StateStore } from '../state/state-store.js';
import { Backoff, delay } from './backoff.js';
import type { SinkWrites } from './sink-writes.js';
import type { Capture, CapturedEntry, Overtaken } from './capture.js';

export interface SourceRunnerOptions {
  readonly name: string;
  readonly source: Source;
  readonly capture: Capture;
  readonly store: StateStore;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  readonly backoff?: Backoff;
  /** Writes again the local parts a linked sink overwrote with older ones (Applier.reassert). */
  readonly reassert?: (overtaken: readonly Overtaken[]) => Promise<void>;
  /** The writes of the sink linked to this source: a batch is committed once they are recorded. */
  readonly writes?: SinkWrites;
  /** Called after each committed batch that produced entries (wakes the publisher). */
  readonly onCaptured?: (entries: readonly CapturedEntry[]) => void;
  /**
   * `pubsync sync --once`: return once the source has nothing more right now: at a batch marked
   * caughtUp, or when it yielded nothing for quietMs (sources that do not mark batches). A failure
   * then rejects instead of restarting the source.
   */
  readonly untilCaughtUp?: { readonly quietMs: number };
  /**
   * Told once, the first time the source has read what there was when it started (a batch marked
   * caughtUp, or quietMs without a batch): the linked sink waits for it (see Daemon.start).
   */
  readonly onCaughtUp?: { readonly quietMs: number; readonly reached: () => void };
}

/**
 * Pulls a source from its last committed checkpoint and commits each batch before asking for the
 * next (the pull is the backpressure). The engine owns reconnection: when the source fails it is
 * restarted from the last committed checkpoint after a backoff, so nothing is lost or repeated.
 * A failure of the state store itself is not retried here: it stops the runner (and the daemon).
 */
export async function runSource(options: SourceRunnerOptions): Promise<void> {
  const { name, source, capture, store, logger, signal, onCaptured, untilCaughtUp } = options;
  const backoff = options.backoff ?? new Backoff();
  const first = options.onCaughtUp ? caughtUpTimer(options.onCaughtUp.quietMs, options.onCaughtUp.reached) : undefined;
  signal.addEventListener('abort', () => first?.close(), { once: true });
  while (!signal.aborted) {
    const from = store.getCheckpoint(name);
    const watch = untilCaughtUp ? watchCaughtUp(signal, untilCaughtUp.quietMs) : undefined;
    try {
      // What the sink had written when the next batch was asked for: a later write may not show in it.
      let readAt = options.writes?.epoch ?? 0;
      for await (const batch of source.start(from, watch ? watch.signal : signal)) {
        await options.writes?.settled();
        const captured = capture.commit(name, batch, readAt);
        const overtaken = capture.takeOvertaken(name);
        if (overtaken.length > 0) await options.reassert?.(overtaken);
        readAt = options.writes?.epoch ?? 0;
        backoff.reset();
        if (captured.length > 0) onCaptured?.(captured);
        // An empty batch says as much as caughtUp: nothing more to read right now.
        first?.batch(batch.caughtUp === true || batch.changes.length === 0);
        if (signal.aborted) break;
        if (watch?.batch(batch.caughtUp === true)) break;
      }
      if (watch?.reached) logger.info({ source: name, by: watch.reached }, 'source caught up');
      else if (!signal.aborted) logger.info({ source: name }, 'source finished');
      return;
    } catch (error) {
      if (signal.aborted || watch?.reached) return;
      if (isSyncError(error) && error.code === ErrorCodes.STATE_IO) throw error;
      const wrapped: SyncError = wrapPluginError(error, `source:${name}`, 'start');
      if (watch) throw wrapped;
      const wait = wrapped.retryAfterMs ?? backoff.next();
      logger.warn({ err: wrapped, code: wrapped.code, retryInMs: wait }, 'source failed, restarting from checkpoint');
      await delay(wait, signal);
    } finally {
      watch?.close();
    }
  }
}

interface CaughtUpWatch {
  /** Ends the read when the source is caught up (or the outer signal aborts). */
  readonly signal: AbortSignal;
  /** How it was found caught up; undefined while it is not. */
  readonly reached: 'batch' | 'quiet' | undefined;
  /** After each committed batch: true when the read should end here. */
  batch(caughtUp: boolean): boolean;
  close(): void;
}

function watchCaughtUp(outer: AbortSignal, quietMs: number): CaughtUpWatch {
  const controller = new AbortController();
  let reached: CaughtUpWatch['reached'];
  const timer = caughtUpTimer(quietMs, (by) => {
    reached = by;
    if (by === 'quiet') controller.abort();
  });
  outer.addEventListener('abort', () => timer.close(), { once: true });
  return {
    signal: AbortSignal.any([outer, controller.signal]),
    get reached() {
      return reached;
    },
    batch: (caughtUp) => timer.batch(caughtUp),
    close: () => timer.close(),
  };
}

/**
 * Tells once when a source is caught up: at a batch marked so, or after quietMs without a batch
 * (sources that do not mark batches). batch() answers whether that batch was the one.
 */
function caughtUpTimer(quietMs: number, reached: (by: 'batch' | 'quiet') => void): { batch(caughtUp: boolean): boolean; close(): void } {
  let done = false;
  let timer: NodeJS.Timeout | undefined;
  const finish = (by: 'batch' | 'quiet'): void => {
    clearTimeout(timer);
    done = true;
    reached(by);
  };
  const arm = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => finish('quiet'), quietMs);
  };
  arm();
  return {
    batch(caughtUp) {
      if (done) return false;
      if (caughtUp) finish('batch');
      else arm();
      return caughtUp;
    },
    close: () => clearTimeout(timer),
  };
}
