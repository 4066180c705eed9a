/**
 * Change sequence numbers in OpenLDAP's text form: `YYYYmmddHHMMSS.uuuuuuZ#cccccc#rrr#mmmmmm`
 * (UTC time to the microsecond, counter, replica id, modification number). Every part has a
 * fixed width and lowercase hex, so comparing two CSN strings compares (time, counter, replica,
 * mod): CSNs can be sorted, indexed and compared as plain strings everywhere.
 */
import { ErrorCodes } from '../errors/codes.js';
import { RecordError } from '../errors/sync-error.js';
import { isValidDateTime } from './calendar.js';

export interface CsnParts {
  /** Microseconds since 1970-01-01T00:00:00Z; bigint because year-9999 microseconds exceed 2^53. */
  readonly time: bigint;
  readonly counter: number;
  readonly replica: number;
  readonly mod: number;
}

export const MAX_CSN_COUNTER = 0xffffff;
export const MAX_CSN_REPLICA = 0xfff;
export const MAX_CSN_MOD = 0xffffff;
/** 9999-12-31T23:59:59.999999Z, the last instant the 4-digit year can hold. */
export const MAX_CSN_TIME = BigInt(Date.UTC(9999, 11, 31, 23, 59, 59)) * 1000n + 999_999n;

const CSN_SHAPE = /^\d{14}\.\d{6}Z#[0-9a-f]{6}#[0-9a-f]{3}#[0-9a-f]{6}$/;
const EXPECTED = 'expected YYYYmmddHHMMSS.uuuuuuZ#cccccc#rrr#mmmmmm (UTC, lowercase hex)';

/** Parses a CSN; throws a record error (PUBSYNC_ERR_CSN_INVALID) on anything else. */
export function parseCsn(text: string): CsnParts {
  const parts = tryParseCsn(text);
  if (parts === undefined) throw invalidCsn(text, EXPECTED);
  return parts;
}

/** Like parseCsn, but answers undefined instead of throwing (for validators that build their own error). */
export function tryParseCsn(text: unknown): CsnParts | undefined {
  if (!isCsn(text)) return undefined;
  const ms = Date.UTC(num(text, 0, 4), num(text, 4, 6) - 1, num(text, 6, 8), num(text, 8, 10), num(text, 10, 12), num(text, 12, 14));
  return {
    time: BigInt(ms) * 1000n + BigInt(num(text, 15, 21)),
    counter: parseInt(text.slice(23, 29), 16),
    replica: parseInt(text.slice(30, 33), 16),
    mod: parseInt(text.slice(34, 40), 16),
  };
}

// Entries repeat their CSN in many fields: remembering the last valid one skips most work.
let lastValid = '';

/** True when `text` is a valid CSN: the shape, a real date and time, and not before 1970. */
export function isCsn(text: unknown): text is string {
  if (typeof text !== 'string') return false;
  if (text === lastValid) return true;
  if (!CSN_SHAPE.test(text)) return false;
  // Before 1970 would need negative times, which no CSN source produces. Second 60 has no
  // microsecond time of its own, so it could not round-trip.
  const year = num(text, 0, 4);
  if (year < 1970) return false;
  if (!isValidDateTime(year, num(text, 4, 6), num(text, 6, 8), num(text, 8, 10), num(text, 10, 12), num(text, 12, 14), false)) {
    return false;
  }
  lastValid = text;
  return true;
}

export function formatCsn(parts: CsnParts): string {
  const { time, counter, replica, mod } = parts;
  if (typeof time !== 'bigint' || time < 0n || time > MAX_CSN_TIME) {
    throw invalidParts(`time ${String(time)} is outside 0..${MAX_CSN_TIME} microseconds`);
  }
  checkRange('counter', counter, MAX_CSN_COUNTER);
  checkRange('replica', replica, MAX_CSN_REPLICA);
  checkRange('mod', mod, MAX_CSN_MOD);
  const date = new Date(Number(time / 1000n));
  return (
    pad(date.getUTCFullYear(), 4) +
    pad(date.getUTCMonth() + 1, 2) +
    pad(date.getUTCDate(), 2) +
    pad(date.getUTCHours(), 2) +
    pad(date.getUTCMinutes(), 2) +
    pad(date.getUTCSeconds(), 2) +
    '.' +
    pad(Number(time % 1_000_000n), 6) +
    'Z#' +
    hex(counter, 6) +
    '#' +
    hex(replica, 3) +
    '#' +
    hex(mod, 6)
  );
}

/**
 * Total order of CSNs: negative, zero or positive like a sort comparator. Only the shape is
 * checked (that is what makes string order the tuple order), so it stays cheap in sorts.
 */
export function compareCsn(a: string, b: string): number {
  if (typeof a !== 'string' || !CSN_SHAPE.test(a)) throw invalidCsn(a, EXPECTED);
  if (typeof b !== 'string' || !CSN_SHAPE.test(b)) throw invalidCsn(b, EXPECTED);
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The CSN's time as an RFC 3339 timestamp with microseconds (Atom dates). Expects a valid CSN. */
export function csnTimestamp(csn: string): string {
  return (
    `${csn.slice(0, 4)}-${csn.slice(4, 6)}-${csn.slice(6, 8)}T` +
    `${csn.slice(8, 10)}:${csn.slice(10, 12)}:${csn.slice(12, 14)}${csn.slice(14, 22)}`
  );
}

function num(text: string, start: number, end: number): number {
  return Number(text.slice(start, end));
}

function checkRange(name: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw invalidParts(`${name} ${String(value)} is outside 0..${max}`);
  }
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

function invalidCsn(text: unknown, why: string): RecordError {
  // Bad input can be huge or binary: show a bounded, quoted excerpt.
  const excerpt = typeof text === 'string' ? (text.length > 64 ? `${text.slice(0, 64)}…` : text) : typeof text;
  return new RecordError(ErrorCodes.CSN_INVALID, `invalid CSN ${JSON.stringify(excerpt)}: ${why}`, {
    details: { csn: excerpt },
  });
}

function invalidParts(why: string): RecordError {
  return new RecordError(ErrorCodes.CSN_INVALID, `cannot format CSN: ${why}`);
}
