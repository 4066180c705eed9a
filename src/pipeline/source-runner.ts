import type { Logger } from 'pino';
import { ErrorCodes, isSyncError, wrapPluginError, type SyncError } from '../errors/index.js';
import type { Source } from '../plugin-api/roles.js';
import type { StateStore } from '../state/state-store.js';
import { Backoff, delay } from './backoff.js';
import type { Capture, CapturedEntry } from './capture.js';

export interface SourceRunnerOptions {
  readonly name: string;
  readonly source: Source;
  readonly capture: Capture;
  readonly store: StateStore;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  readonly backoff?: Backoff;
  /** Called after each committed batch that produced entries (wakes the publisher). */
  readonly onCaptured?: (entries: readonly CapturedEntry[]) => void;
}

/**
 * Pulls a source from its last committed checkpoint and commits each batch before asking for the
 * next (the pull is the backpressure). The engine owns reconnection: when the source fails it is
 * restarted from the last committed checkpoint after a backoff, so nothing is lost or repeated.
 * A failure of the state store itself is not retried here: it stops the runner (and the daemon).
 */
export async function runSource(options: SourceRunnerOptions): Promise<void> {
  const { name, source, capture, store, logger, signal, onCaptured } = options;
  const backoff = options.backoff ?? new Backoff();
  while (!signal.aborted) {
    const from = store.getCheckpoint(name);
    try {
      for await (const batch of source.start(from, signal)) {
        const captured = capture.commit(name, batch);
        backoff.reset();
        if (captured.length > 0) onCaptured?.(captured);
        if (signal.aborted) break;
      }
      if (!signal.aborted) logger.info({ source: name }, 'source finished');
      return;
    } catch (error) {
      if (signal.aborted) return;
      if (isSyncError(error) && error.code === ErrorCodes.STATE_IO) throw error;
      const wrapped: SyncError = wrapPluginError(error, `source:${name}`, 'start');
      const wait = wrapped.retryAfterMs ?? backoff.next();
      logger.warn({ err: wrapped, code: wrapped.code, retryInMs: wait }, 'source failed, restarting from checkpoint');
      await delay(wait, signal);
    }
  }
}
