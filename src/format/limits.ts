/** Parser limits: a hostile or broken peer must not be able to exhaust memory or CPU. */
import { ErrorCodes } from '../errors/codes.js';
import { ConfigError } from '../errors/sync-error.js';

export interface ParseLimits {
  /** Characters (UTF-16 code units) of the whole XML text. */
  readonly maxLength: number;
  /** Element nesting depth. */
  readonly maxDepth: number;
  /** Elements in the whole document. */
  readonly maxElements: number;
  /** Entries and tombstones in one feed. */
  readonly maxEntries: number;
  /** Fields of one object or one child. */
  readonly maxFields: number;
  /** Values of one field. */
  readonly maxValues: number;
  /** Characters of one text node as written (a value, base64 data, a name). */
  readonly maxValueLength: number;
  /** Keys, tags, changed names, children and attachments of one entry (each). */
  readonly maxItems: number;
  /** Digits of an integer value (BigInt parsing is superlinear). */
  readonly maxIntegerDigits: number;
  /** Nesting depth of a JSON value (consumers often walk JSON recursively). */
  readonly maxJsonDepth: number;
}

export const DEFAULT_PARSE_LIMITS: ParseLimits = Object.freeze({
  maxLength: 16 * 1024 * 1024,
  maxDepth: 16,
  maxElements: 1_000_000,
  maxEntries: 10_000,
  maxFields: 10_000,
  maxValues: 100_000,
  maxValueLength: 8 * 1024 * 1024,
  maxItems: 10_000,
  maxIntegerDigits: 4096,
  maxJsonDepth: 128,
});

/** Defaults overridden by `overrides`; each limit must be a positive integer. */
export function resolveLimits(overrides?: Partial<ParseLimits>): ParseLimits {
  if (overrides === undefined || overrides === DEFAULT_PARSE_LIMITS) return DEFAULT_PARSE_LIMITS;
  const limits = { ...DEFAULT_PARSE_LIMITS, ...definedOnly(overrides) };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new ConfigError(ErrorCodes.CONFIG_INVALID, `parse limit ${name} must be a positive integer, got ${String(value)}`);
    }
  }
  return limits;
}

function definedOnly(overrides: Partial<ParseLimits>): Partial<ParseLimits> {
  return Object.fromEntries(Object.entries(overrides).filter(([, value]) => value !== undefined));
}
