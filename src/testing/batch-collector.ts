import type { SourceBatch, SourceChange } from '../plugin-api/index.js';

/**
 * Pulls a source's batches in the background (as the pipeline would) and lets a test wait for
 * the one it expects. A malformed batch or an iteration error fails every later wait.
 */
export class BatchCollector {
  readonly batches: SourceBatch[] = [];
  #error: unknown;
  #ended = false;
  #wake: (() => void) | undefined;
  readonly #running: Promise<void>;

  constructor(iterable: AsyncIterable<SourceBatch>) {
    this.#running = this.#pull(iterable);
  }

  /** Every change received so far, in order. */
  get changes(): SourceChange[] {
    return this.batches.flatMap((batch) => batch.changes);
  }

  /**
   * Resolves with the first non-undefined answer of `find` over the batches so far, checking
   * again on every new batch; rejects after `timeoutMs`, or when the iteration fails or ends.
   */
  async waitFor<T>(
    what: string,
    find: (batches: readonly SourceBatch[]) => T | undefined,
    timeoutMs: number,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = find(this.batches);
      if (found !== undefined) return found;
      if (this.#error !== undefined) {
        const reason = this.#error instanceof Error ? this.#error.message : String(this.#error);
        throw new Error(`the source failed while waiting for ${what}: ${reason}`, { cause: this.#error });
      }
      if (this.#ended) throw new Error(`the source's iteration ended while waiting for ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await this.#next(left);
    }
  }

  /** Waits for the iteration to end (after its signal was aborted); rejects after timeoutMs. */
  async ended(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
    const result = await Promise.race([this.#running.then(() => 'ended' as const), timeout]);
    clearTimeout(timer);
    if (result === 'timeout') {
      throw new Error(`the iteration did not end within ${timeoutMs} ms of its signal aborting`);
    }
    if (this.#error !== undefined && !isAbort(this.#error)) throw this.#error;
  }

  async #pull(iterable: AsyncIterable<SourceBatch>): Promise<void> {
    try {
      for await (const batch of iterable) {
        checkBatch(batch);
        this.batches.push(batch);
        this.#wake?.();
      }
    } catch (error) {
      this.#error = error;
    } finally {
      this.#ended = true;
      this.#wake?.();
    }
  }

  #next(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      this.#wake = done;
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
    });
  }
}

function checkBatch(batch: SourceBatch): void {
  if (batch === null || typeof batch !== 'object' || !Array.isArray(batch.changes)) {
    throw new Error(`the source yielded ${JSON.stringify(batch)}, not a batch { changes, checkpoint }`);
  }
  if (typeof batch.checkpoint !== 'string') throw new Error('the source yielded a batch without a string checkpoint');
  for (const change of batch.changes) {
    if (change.op !== 'upsert' && change.op !== 'delete') {
      throw new Error(`a change has op ${JSON.stringify(change.op)}`);
    }
    if (!Array.isArray(change.keys) || change.keys.length === 0) throw new Error('a change has no keys');
  }
}

// A source may end its iteration by throwing the abort reason; that is a clean end.
function isAbort(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return error.name === 'AbortError' || (error as { code?: unknown }).code === 'PUBSYNC_ERR_SHUTDOWN';
}
