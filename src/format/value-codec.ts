/**
 * Text forms of field values, one `<v>` per value (docs/format.md, "Value types"). Writing and
 * reading share the lexical rules here so that whatever is written is accepted when read.
 */
import type { Field, FieldType, JsonValue } from './model.js';
import { decodeBase64, encodeBase64 } from './base64.js';
import { textElement } from './escaped-text.js';
import { isRfc3339DateTime } from './rfc3339.js';

export type FieldValue = Field['values'][number];

export const FIELD_TYPES: readonly FieldType[] = ['string', 'integer', 'decimal', 'boolean', 'datetime', 'binary', 'json'];

/** Types whose text may need the base64 escape; the others are plain ASCII by construction. */
export const ESCAPABLE_TYPES: ReadonlySet<FieldType> = new Set<FieldType>(['string', 'json']);

const INTEGER = /^-?(?:0|[1-9]\d*)$/;
/** No exponent, no '+', no redundant leading zeros; trailing zeros are kept (they carry the scale). */
const DECIMAL = /^-?(?:0|[1-9]\d*)(?:\.\d+)?$/;

/** Thrown by this module only; the writer and parser turn it into a located SyncError. */
export class ValueProblem extends Error {
  /** True when the value is well-formed but over a parse limit. */
  readonly overLimit: boolean;

  constructor(message: string, overLimit = false) {
    super(message);
    this.overLimit = overLimit;
  }
}

export function isFieldType(type: unknown): type is FieldType {
  return typeof type === 'string' && (FIELD_TYPES as readonly string[]).includes(type);
}

/** The `<v>` element for one value of the given type. */
export function valueElement(type: FieldType, value: unknown): string {
  switch (type) {
    case 'string':
      if (typeof value !== 'string') throw new ValueProblem('expected a string');
      return textElement('v', value);
    case 'integer':
      if (typeof value !== 'bigint') throw new ValueProblem('expected a bigint');
      return `<v>${value.toString()}</v>`;
    case 'decimal':
      if (typeof value !== 'string' || !DECIMAL.test(value)) throw new ValueProblem('expected decimal text like -12.50');
      return `<v>${value}</v>`;
    case 'boolean':
      if (typeof value !== 'boolean') throw new ValueProblem('expected a boolean');
      return value ? '<v>true</v>' : '<v>false</v>';
    case 'datetime':
      if (typeof value !== 'string' || !isRfc3339DateTime(value)) throw new ValueProblem('expected an RFC 3339 date-time');
      return `<v>${value}</v>`;
    case 'binary':
      if (!(value instanceof Uint8Array)) throw new ValueProblem('expected a Uint8Array');
      return value.byteLength === 0 ? '<v/>' : `<v>${encodeBase64(value)}</v>`;
    case 'json':
      return textElement('v', stringifyJson(value));
  }
}

/** The value a `<v>` text stands for (after un-escaping). */
export function parseValue(type: FieldType, text: string, limits: { maxIntegerDigits: number; maxJsonDepth: number }): FieldValue {
  switch (type) {
    case 'string':
      return text;
    case 'integer':
      if (!INTEGER.test(text)) throw new ValueProblem(`not an integer: ${excerpt(text)}`);
      if (text.length - (text.startsWith('-') ? 1 : 0) > limits.maxIntegerDigits) {
        throw new ValueProblem(`integer has more than ${limits.maxIntegerDigits} digits`, true);
      }
      return BigInt(text);
    case 'decimal':
      if (!DECIMAL.test(text)) throw new ValueProblem(`not a decimal: ${excerpt(text)}`);
      return text;
    case 'boolean':
      if (text === 'true') return true;
      if (text === 'false') return false;
      throw new ValueProblem(`not a boolean (true or false): ${excerpt(text)}`);
    case 'datetime':
      if (!isRfc3339DateTime(text)) throw new ValueProblem(`not an RFC 3339 date-time: ${excerpt(text)}`);
      return text;
    case 'binary': {
      const bytes = decodeBase64(text);
      if (bytes === undefined) throw new ValueProblem(`not canonical base64: ${excerpt(text)}`);
      return bytes;
    }
    case 'json':
      return parseJson(text, limits.maxJsonDepth);
  }
}

/** A bounded, quoted excerpt of bad input for error messages. */
export function excerpt(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
}

function stringifyJson(value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value, rejectLossy);
  } catch (error) {
    throw new ValueProblem(`not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (text === undefined) throw new ValueProblem('not JSON: no JSON representation');
  return text;
}

// JSON.stringify silently turns NaN/Infinity into null and drops undefined members: refuse instead.
function rejectLossy(_key: string, value: unknown): unknown {
  if (typeof value === 'number' && !Number.isFinite(value)) throw new Error(`${value} is not a JSON number`);
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol') {
    throw new Error(`${typeof value} is not a JSON value`);
  }
  return value;
}

function parseJson(text: string, maxDepth: number): JsonValue {
  if (jsonDepth(text) > maxDepth) throw new ValueProblem(`JSON nested deeper than ${maxDepth}`, true);
  try {
    return JSON.parse(text) as JsonValue;
  } catch (error) {
    throw new ValueProblem(`not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Maximum bracket nesting outside strings, measured before JSON.parse builds anything. */
function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) max = Math.max(max, ++depth);
    else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}
