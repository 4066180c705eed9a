import { randomUUID } from 'node:crypto';
import type { StateStore } from '../state/state-store.js';

/** An object as a sink left it: deleted, or the hash of each part ("" for a part it removed). */
export type WrittenState = { readonly deleted: true } | { readonly deleted: false; readonly hashes: Readonly<Record<string, string>> };

/** States remembered per object: the oldest go first. */
const STATES_PER_OBJECT = 16;
/** Objects whose recent writes are remembered in memory (only batches in flight need them). */
const RECENT_OBJECTS = 10_000;

/**
 * What a sink writes into an application, as seen by the source of the same application.
 *
 * A source may report the echo of a write while the write is still in flight, and may report
 * every intermediate state of an object the sink wrote several times (a feed of all writes rather
 * than of current states). Taking either for a local change would publish an older state with a
 * new CSN. So the source commits a batch only once the writes in flight are recorded, and a
 * change equal to a state the sink wrote, and not yet seen back, is that write's echo. The states
 * are kept in the state database, with the applied state, so a restart between a write and its
 * echo does not turn the echo into a change.
 */
export class SinkWrites {
  #inFlight = 0;
  #waiters: (() => void)[] = [];
  readonly #scope: string;
  /** Counts recorded writes; a source batch notes it before it is read. */
  #epoch = 0;
  /** Tells this process's write counts from an earlier one's in the states kept in the database. */
  readonly #session = randomUUID();
  /** Key value to the recent writes there (epoch, parts written or deleted), for batches read before them. */
  readonly #recent = new Map<string, { epoch: number; parts: readonly string[] | 'deleted' }[]>();
  /** Key value to the write count when the source's latest reported state of the object was read. */
  readonly #read = new Map<string, number>();
  /** Keys with written states the source has not reported yet (this process's, most recent last). */
  readonly #unseen = new Set<string>();

  /** Whether the source reports the sink's writes at all (Source.skipsSinkWrites): else nothing is an echo. */
  readonly #echoes: boolean;

  constructor(
    private readonly store: StateStore,
    source: string,
    options: { readonly echoes?: boolean } = {},
  ) {
    this.#scope = `pubsync:sink-writes:${source}`;
    this.#echoes = options.echoes ?? true;
  }

  /** Runs one sink call and its recording; the source's next commit waits for it. */
  async write<T>(fn: () => Promise<T>): Promise<T> {
    this.#inFlight++;
    try {
      return await fn();
    } finally {
      this.#inFlight--;
      if (this.#inFlight === 0) this.#release();
    }
  }

  /** Resolves once no write is in flight (at once when none is). */
  settled(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Writes recorded so far: note it before reading a batch from the source. */
  get epoch(): number {
    return this.#epoch;
  }

  /**
   * What the sink wrote at these keys after `epoch`: a batch read before then may show an older
   * state of those parts, which is not a change of the application's own.
   */
  writtenSince(keys: readonly string[], epoch: number): { deleted: boolean; parts: ReadonlySet<string> } | undefined {
    const parts = new Set<string>();
    let deleted = false;
    let any = false;
    for (const key of keys) {
      for (const write of this.#recent.get(key) ?? []) {
        if (write.epoch <= epoch) continue;
        any = true;
        if (write.parts === 'deleted') deleted = true;
        else write.parts.forEach((part) => parts.add(part));
      }
    }
    return any ? { deleted, parts } : undefined;
  }

  /** The source reported a state of the object at these keys, read when the write count was `epoch`. */
  readBy(keys: readonly string[], epoch: number): void {
    for (const key of new Set(keys)) {
      this.#read.delete(key);
      this.#read.set(key, epoch);
      if (this.#read.size > RECENT_OBJECTS) this.#read.delete(this.#read.keys().next().value as string);
    }
  }

  /**
   * Parts the sink wrote at these keys after the source's latest report of the object was read
   * (every recent write when none was since the start): only those can have overwritten a local
   * change seen in that report. A part the sink wrote before it now holds a later local change.
   */
  writtenSinceRead(keys: readonly string[]): ReadonlySet<string> {
    const read = Math.max(0, ...keys.map((key) => this.#read.get(key) ?? 0));
    return this.writtenSince(keys, read)?.parts ?? new Set();
  }

  /** The sink wrote this state of the object at these keys (call inside the applier's transaction). */
  record(keys: readonly string[], state: WrittenState, parts: readonly string[] = []): void {
    this.#epoch++;
    for (const key of new Set(keys)) {
      const recent = [...(this.#recent.get(key) ?? []), { epoch: this.#epoch, parts: state.deleted ? ('deleted' as const) : parts }];
      this.#recent.delete(key);
      this.#recent.set(key, recent.slice(-STATES_PER_OBJECT));
      if (this.#recent.size > RECENT_OBJECTS) this.#recent.delete(this.#recent.keys().next().value as string);
    }
    if (!this.#echoes) return;
    for (const key of new Set(keys)) {
      this.#keep(key, [...this.#states(key), { state, epoch: this.#epoch, session: this.#session }].slice(-STATES_PER_OBJECT));
    }
  }

  /**
   * The source reported everything there was when it read a batch asked for at `epoch`
   * (SourceBatch.caughtUp). A state written by then and not reported was overwritten before the
   * source could see it (a feed of current states, as CouchDB's _changes, skips it): it is no
   * echo to wait for, and a later report equal to it is the application's own change.
   */
  caughtUp(epoch: number, reported: Iterable<string>): void {
    for (const key of new Set([...this.#unseen, ...reported])) {
      const states = this.#states(key);
      const pending = states.filter((written) => this.#epochOf(written) > epoch);
      if (pending.length < states.length) this.#keep(key, pending);
    }
  }

  /**
   * Whether the source's view of an object is a state the sink wrote and the source has not
   * reported yet; that state and the ones before it are then forgotten (echoes come in order).
   */
  isEcho(keys: readonly string[], state: WrittenState): boolean {
    if (!this.#echoes) return false;
    for (const key of keys) {
      const states = this.#states(key);
      const at = states.findIndex((written) => sameState(written.state, state));
      if (at < 0) continue;
      this.#keep(key, states.slice(at + 1));
      return true;
    }
    return false;
  }

  #states(key: string): Written[] {
    const json = this.store.kvGet(this.#scope, key);
    if (json === undefined) return [];
    // Kept by an earlier version as bare states: written before this process started.
    return (JSON.parse(json) as (Written | WrittenState)[]).map((kept) => ('state' in kept ? kept : { state: kept, epoch: 0, session: '' }));
  }

  #keep(key: string, states: readonly Written[]): void {
    this.#unseen.delete(key);
    if (states.length === 0) {
      this.store.kvDelete(this.#scope, key);
      return;
    }
    this.store.kvPut(this.#scope, key, JSON.stringify(states));
    this.#unseen.add(key);
    if (this.#unseen.size > RECENT_OBJECTS) this.#unseen.delete(this.#unseen.values().next().value as string);
  }

  /** A state written before this process started counts as written at its start. */
  #epochOf(written: Written): number {
    return written.session === this.#session ? written.epoch : 0;
  }

  #release(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}

/** A written state as kept in the database: with the write count (of its process) that recorded it. */
interface Written {
  readonly state: WrittenState;
  readonly epoch: number;
  readonly session: string;
}

function sameState(a: WrittenState, b: WrittenState): boolean {
  if (a.deleted || b.deleted) return a.deleted === b.deleted;
  const present = (hashes: Readonly<Record<string, string>>): [string, string][] =>
    Object.entries(hashes)
      .filter(([, hash]) => hash !== '')
      .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
  return JSON.stringify(present(a.hashes)) === JSON.stringify(present(b.hashes));
}
