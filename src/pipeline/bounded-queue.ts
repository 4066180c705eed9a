/**
 * A FIFO with a fixed capacity between two pipeline stages. push() waits while the queue is full,
 * which is how backpressure reaches the producer (the XMPP receiver, a source) instead of memory
 * growing without bound.
 */
export class BoundedQueue<T> {
  readonly #capacity: number;
  readonly #items: T[] = [];
  #waitingPushers: (() => void)[] = [];
  #waitingTaker: ((value: IteratorResult<T>) => void) | undefined;
  #closed = false;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be a positive integer');
    this.#capacity = capacity;
  }

  get size(): number {
    return this.#items.length;
  }

  async push(item: T, signal?: AbortSignal): Promise<void> {
    while (this.#items.length >= this.#capacity && !this.#closed) {
      signal?.throwIfAborted();
      await new Promise<void>((resolve) => {
        this.#waitingPushers.push(resolve);
        signal?.addEventListener('abort', () => resolve(), { once: true });
      });
    }
    signal?.throwIfAborted();
    if (this.#closed) throw new Error('queue closed');
    const taker = this.#waitingTaker;
    if (taker) {
      this.#waitingTaker = undefined;
      taker({ value: item, done: false });
    } else {
      this.#items.push(item);
    }
  }

  /** Ends iteration once the items already queued are taken. */
  close(): void {
    this.#closed = true;
    this.#releasePushers();
    if (this.#items.length === 0) this.#waitingTaker?.({ value: undefined, done: true });
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    for (;;) {
      const item = this.#items.shift();
      if (item !== undefined) {
        this.#releasePushers();
        yield item;
        continue;
      }
      if (this.#closed) return;
      const next = await new Promise<IteratorResult<T>>((resolve) => {
        this.#waitingTaker = resolve;
      });
      if (next.done) return;
      yield next.value;
    }
  }

  #releasePushers(): void {
    const pushers = this.#waitingPushers;
    this.#waitingPushers = [];
    for (const resolve of pushers) resolve();
  }
}
