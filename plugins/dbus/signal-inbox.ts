/**
 * What the source has to do next, fed by signals: the objects signalled since the last round,
 * each with what its latest signal carried (coalesced: many signals for one object are one
 * fetch, or one change), and whether a full rescan is due. Bounded: past maxPending objects it
 * forgets them and asks for a rescan, which covers them all.
 */
export interface InboxWork<T> {
  readonly rescan: boolean;
  /** Object ids in the order first signalled, with the latest payload of each. */
  readonly items: readonly (readonly [string, T])[];
}

export class SignalInbox<T = undefined> {
  readonly #maxPending: number;
  readonly #coalesceMs: number;
  #items = new Map<string, T>();
  #rescan = false;
  #ready = false;
  #timer: NodeJS.Timeout | undefined;
  #wake: (() => void) | undefined;
  #stopped = false;

  constructor(options: { maxPending: number; coalesceMs: number }) {
    this.#maxPending = options.maxPending;
    this.#coalesceMs = options.coalesceMs;
  }

  add(id: string, payload: T): void {
    if (this.#rescan || this.#stopped) return;
    this.#items.set(id, payload);
    if (this.#items.size > this.#maxPending) {
      this.requestRescan();
      return;
    }
    // The window opens at the first signal and is not extended, so a steady stream still flows.
    this.#timer ??= setTimeout(() => {
      this.#ready = true;
      this.#notify();
    }, this.#coalesceMs);
  }

  requestRescan(): void {
    this.#rescan = true;
    this.#items.clear();
    this.#notify();
  }

  /** The work gathered so far, once there is some; undefined once stopped. */
  async next(): Promise<InboxWork<T> | undefined> {
    while (!this.#rescan && !this.#ready) {
      if (this.#stopped) return undefined;
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
    const work = { rescan: this.#rescan, items: [...this.#items] };
    this.#rescan = false;
    this.#ready = false;
    this.#items = new Map();
    clearTimeout(this.#timer);
    this.#timer = undefined;
    return work;
  }

  /** Ends the wait in next() for good. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#notify();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
