/**
 * Serializes the subscriptions that write into one sink. Each applier decides against the state
 * the sink's earlier writes recorded; two deciding at once would both decide against the state
 * before the other's write (a peer's delete and another peer's edit of the same object, both
 * applied as if alone), and the later record would overwrite the earlier one.
 */
export class SinkLock {
  #tail: Promise<unknown> = Promise.resolve();

  /** Runs nothing queued after this until `ready` settles. */
  holdUntil(ready: Promise<void>): void {
    this.#tail = this.#tail.then(() => ready).catch(() => undefined);
  }

  /** Runs `fn` once every call queued before it has settled. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(fn, fn);
    this.#tail = result.catch(() => undefined);
    return result;
  }
}
