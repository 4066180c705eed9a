/**
 * Exponential backoff with jitter (half of each delay fixed, half random): retries from many replicas after an
 * outage spread out instead of arriving together.
 */
export interface BackoffOptions {
  readonly initialMs?: number;
  readonly maxMs?: number;
  readonly random?: () => number;
}

export class Backoff {
  readonly #initialMs: number;
  readonly #maxMs: number;
  readonly #random: () => number;
  #attempt = 0;

  constructor(options: BackoffOptions = {}) {
    this.#initialMs = options.initialMs ?? 200;
    this.#maxMs = options.maxMs ?? 30_000;
    this.#random = options.random ?? Math.random;
  }

  get attempts(): number {
    return this.#attempt;
  }

  /** The delay before the next attempt. */
  next(): number {
    const ceiling = Math.min(this.#maxMs, this.#initialMs * 2 ** this.#attempt);
    this.#attempt++;
    return Math.round(ceiling * (0.5 + this.#random() / 2));
  }

  reset(): void {
    this.#attempt = 0;
  }
}

/** Resolves after ms, or at once (without throwing) when the signal aborts. */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}
