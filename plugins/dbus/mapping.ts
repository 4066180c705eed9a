import { createHash } from 'node:crypto';
import type { ChangeField, JsonValue } from '../../src/plugin-api/index.js';
import { DbusVariant } from './dbus-variant.js';

/**
 * D-Bus values to typed fields and back. An `a{sv}` object is the unit: each key is a field.
 *
 *   s o g            -> string          x t i u n q y -> integer (bigint)
 *   d                -> decimal (text)  b             -> boolean
 *   ay               -> binary          a<basic>      -> the same type, multi-valued
 *   v                -> what it holds   anything else (a{sv}, av, structs) -> json, variants unwrapped
 *
 * Writing back picks the narrowest signature: one value -> the basic type, several -> an array.
 * So a one-element `as` comes back as `s`; D-Bus has no null, so json null is written as `av` [].
 */

const STRING_SIGS = new Set(['s', 'o', 'g']);
const INTEGER_SIGS = new Set(['x', 't', 'i', 'u', 'n', 'q', 'y']);

export class MappingError extends Error {
  override readonly name = 'MappingError';
}

export function fieldsFromDict(dict: unknown): ChangeField[] {
  if (dict === null || typeof dict !== 'object' || Array.isArray(dict)) {
    throw new MappingError(`expected an a{sv} dictionary, got ${describe(dict)}`);
  }
  return Object.entries(dict as Record<string, unknown>)
    .map(([name, value]) => fieldFromValue(name, value))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export function fieldFromValue(name: string, value: unknown): ChangeField {
  if (!(value instanceof DbusVariant)) throw new MappingError(`field ${name}: expected a variant, got ${describe(value)}`);
  const { signature: sig } = value;
  if (sig === 'v') return fieldFromValue(name, value.value);
  const basic = basicField(name, sig, [value.value]);
  if (basic !== undefined) return basic;
  if (sig === 'ay') return { name, type: 'binary', values: [bytesOf(value.value, name)] };
  if (sig.startsWith('a') && sig.length === 2 && Array.isArray(value.value)) {
    const multi = basicField(name, sig.slice(1), value.value);
    if (multi !== undefined) return multi;
  }
  return { name, type: 'json', values: [jsonOf(value.value, name)] };
}

function basicField(name: string, sig: string, values: readonly unknown[]): ChangeField | undefined {
  if (STRING_SIGS.has(sig)) return { name, type: 'string', values: values.map(String) };
  if (INTEGER_SIGS.has(sig)) return { name, type: 'integer', values: values.map((v) => integerOf(v, name)) };
  if (sig === 'b') return { name, type: 'boolean', values: values.map(Boolean) };
  if (sig === 'd') return { name, type: 'decimal', values: values.map((v) => decimalText(Number(v))) };
  return undefined;
}

function integerOf(value: unknown, name: string): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
  throw new MappingError(`field ${name}: expected an integer, got ${describe(value)}`);
}

function bytesOf(value: unknown, name: string): Uint8Array {
  if (value instanceof Uint8Array) return new Uint8Array(value);
  if (Array.isArray(value) && value.every((byte) => typeof byte === 'number')) return Uint8Array.from(value);
  throw new MappingError(`field ${name}: expected bytes, got ${describe(value)}`);
}

/** A double as decimal text without an exponent ("1e-7" -> "0.0000001"); NaN and infinities have none. */
export function decimalText(value: number): string {
  if (!Number.isFinite(value)) throw new MappingError(`${value} has no decimal form`);
  const text = String(value);
  const match = /^(-?)(\d+)(?:\.(\d+))?e([+-]\d+)$/.exec(text);
  if (match === null) return text;
  const [, sign = '', whole = '', fraction = '', exponentText = '0'] = match;
  const exponent = Number(exponentText);
  const digits = whole + fraction;
  const point = whole.length + exponent;
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${'0'.repeat(point - digits.length)}`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

function jsonOf(value: unknown, name: string): JsonValue {
  if (value instanceof DbusVariant) return jsonOf(value.value, name);
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return value.map((item) => jsonOf(item, name));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, jsonOf(item, name)]));
  }
  throw new MappingError(`field ${name}: cannot map ${describe(value)}`);
}

/** Typed fields to the a{sv} dictionary a Put method takes. */
export function dictFromFields(fields: readonly ChangeField[]): Record<string, DbusVariant> {
  return Object.fromEntries(fields.map((field) => [field.name, variantOfField(field)]));
}

export function variantOfField(field: ChangeField): DbusVariant {
  const single = field.values.length === 1;
  switch (field.type) {
    case 'string':
    case 'datetime':
      return single ? new DbusVariant('s', field.values[0]) : new DbusVariant('as', [...field.values]);
    case 'integer':
      return single ? new DbusVariant('x', field.values[0]) : new DbusVariant('ax', [...field.values]);
    case 'decimal':
      return single ? new DbusVariant('d', Number(field.values[0])) : new DbusVariant('ad', field.values.map(Number));
    case 'boolean':
      return single ? new DbusVariant('b', field.values[0]) : new DbusVariant('ab', [...field.values]);
    case 'binary':
      return single ? new DbusVariant('ay', field.values[0]) : new DbusVariant('aay', [...field.values]);
    case 'json':
      return single ? variantOfJson(field.values[0] ?? null) : new DbusVariant('av', field.values.map(variantOfJson));
  }
}

function variantOfJson(value: JsonValue): DbusVariant {
  if (value === null) return new DbusVariant('av', []);
  if (typeof value === 'string') return new DbusVariant('s', value);
  if (typeof value === 'boolean') return new DbusVariant('b', value);
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) ? new DbusVariant('x', BigInt(value)) : new DbusVariant('d', value);
  }
  if (Array.isArray(value)) return new DbusVariant('av', value.map(variantOfJson));
  return new DbusVariant('a{sv}', Object.fromEntries(Object.entries(value).map(([k, v]) => [k, variantOfJson(v)])));
}

/**
 * A hash of an object's content (its type and fields, in name order), to tell whether it changed
 * since the last scan and to recognise the object a sink of this daemon wrote.
 */
export function contentHash(type: string, fields: readonly ChangeField[]): string {
  const canonical = [...fields]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((field) => [field.name, field.type, field.values.map(canonicalValue)]);
  return createHash('sha256').update(JSON.stringify([type, canonical])).digest('base64url');
}

function canonicalValue(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  return value;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? (value.constructor?.name ?? 'an object') : typeof value;
}
