/**
 * A hybrid logical clock that issues CSNs. The logical time follows the wall clock when it
 * moves ahead and otherwise counts (counter part of the CSN), so CSNs from one replica are
 * strictly increasing whatever the wall clock does, and a replica that has seen a CSN only
 * issues greater ones afterwards (observe), which is what per-field last-writer-wins needs.
 */
import { ErrorCodes } from '../errors/codes.js';
import { ConfigError, RecordError } from '../errors/sync-error.js';
import { formatCsn, MAX_CSN_COUNTER, MAX_CSN_REPLICA, parseCsn, type CsnParts } from './csn.js';

export const DEFAULT_MAX_FORWARD_SKEW_MS = 24 * 60 * 60 * 1000;

export interface CsnClockOptions {
  /** This daemon's replica id, 0..4095 (the CSN's rid). */
  readonly replica: number;
  /** Wall clock in milliseconds since the epoch (fractions give microseconds). Default Date.now. */
  readonly now?: () => number;
  /**
   * How far ahead of the local wall clock an observed CSN may be. Beyond it the CSN is refused:
   * following it would stamp every later local change with a far-future time that no
   * honest writer could then beat.
   */
  readonly maxForwardSkewMs?: number;
  /**
   * The last CSN this replica issued before a restart (from the state store): CSNs issued
   * afterwards are greater even if the wall clock is now behind it. Not subject to the skew limit.
   */
  readonly after?: string;
}

export class CsnClock {
  readonly replica: number;
  readonly maxForwardSkewMs: number;
  readonly #now: () => number;
  // Starts below any real time so that the first CSN takes the wall clock with counter 0.
  #time = -1n;
  #counter = 0;

  constructor(options: CsnClockOptions) {
    const { replica, now = Date.now, maxForwardSkewMs = DEFAULT_MAX_FORWARD_SKEW_MS } = options;
    if (!Number.isInteger(replica) || replica < 0 || replica > MAX_CSN_REPLICA) {
      throw new ConfigError(ErrorCodes.CONFIG_INVALID, `CSN replica id must be an integer 0..${MAX_CSN_REPLICA}, got ${String(replica)}`);
    }
    if (!Number.isFinite(maxForwardSkewMs) || maxForwardSkewMs < 0) {
      throw new ConfigError(ErrorCodes.CONFIG_INVALID, `maxForwardSkewMs must be a non-negative number, got ${String(maxForwardSkewMs)}`);
    }
    this.replica = replica;
    this.maxForwardSkewMs = maxForwardSkewMs;
    this.#now = now;
    if (options.after !== undefined) this.#advanceTo(parseCsn(options.after));
  }

  /** A new CSN, greater than every CSN this clock issued or observed. */
  next(): string {
    const physical = this.#physicalMicros();
    if (physical > this.#time) {
      this.#time = physical;
      this.#counter = 0;
    } else if (this.#counter < MAX_CSN_COUNTER) {
      this.#counter += 1;
    } else {
      // The counter is full: borrow the next microsecond, as if the wall clock had ticked.
      this.#time += 1n;
      this.#counter = 0;
    }
    return formatCsn({ time: this.#time, counter: this.#counter, replica: this.replica, mod: 0 });
  }

  /**
   * Takes note of a CSN seen from elsewhere (a remote replica, slapd's entryCSN) so that later
   * local CSNs sort after it. Never moves the clock back. Throws a record error for an invalid
   * CSN (PUBSYNC_ERR_CSN_INVALID) or one too far in the future (PUBSYNC_ERR_CSN_SKEW).
   */
  observe(csn: string): CsnParts {
    const remote = parseCsn(csn);
    const physical = this.#physicalMicros();
    const aheadMicros = remote.time - physical;
    if (aheadMicros > BigInt(Math.floor(this.maxForwardSkewMs * 1000))) {
      throw new RecordError(
        ErrorCodes.CSN_SKEW,
        `CSN ${csn} is ${aheadMicros / 1000n} ms ahead of the local clock (max forward skew ${this.maxForwardSkewMs} ms)`,
        { details: { csn, aheadMs: Number(aheadMicros / 1000n), maxForwardSkewMs: this.maxForwardSkewMs } },
      );
    }
    this.#advanceTo(remote);
    return remote;
  }

  #advanceTo(seen: CsnParts): void {
    if (seen.time > this.#time || (seen.time === this.#time && seen.counter > this.#counter)) {
      this.#time = seen.time;
      this.#counter = seen.counter;
    }
  }

  #physicalMicros(): bigint {
    const ms = this.#now();
    // A broken wall clock must not break the clock: counting on from the logical time is safe.
    if (!Number.isFinite(ms) || ms <= 0) return 0n;
    return BigInt(Math.floor(ms * 1000));
  }
}
