import { Variant } from 'dbus-next';

/**
 * D-Bus values as JSON, so a note keeps its exact D-Bus types on disk: int64 stays int64 (a
 * BigInt, which JSON cannot hold), bytes stay bytes, nested variants keep their signature.
 */
export type StoredValue =
  | null
  | boolean
  | number
  | string
  | StoredValue[]
  | { [key: string]: StoredValue };

/** One field of a note on disk: its D-Bus signature and its value. */
export interface StoredField {
  readonly sig: string;
  readonly value: StoredValue;
}

export function storeVariant(variant: Variant): StoredField {
  return { sig: variant.signature, value: toStored(variant.value) };
}

export function loadVariant(field: StoredField): Variant {
  return new Variant(field.sig, fromStored(field.value));
}

function toStored(value: unknown): StoredValue {
  if (typeof value === 'bigint') return { $bigint: value.toString() };
  if (value instanceof Variant) return { $variant: { sig: value.signature, value: toStored(value.value) } };
  if (value instanceof Uint8Array) return { $bytes: Buffer.from(value).toString('base64') };
  if (Array.isArray(value)) return value.map(toStored);
  if (value !== null && typeof value === 'object') {
    return { $dict: Object.fromEntries(Object.entries(value).map(([key, item]) => [key, toStored(item)])) };
  }
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  throw new TypeError(`cannot store a ${typeof value}`);
}

function fromStored(value: StoredValue): unknown {
  if (Array.isArray(value)) return value.map(fromStored);
  if (value === null || typeof value !== 'object') return value;
  if (typeof value.$bigint === 'string') return BigInt(value.$bigint);
  if (typeof value.$bytes === 'string') return Buffer.from(value.$bytes, 'base64');
  const nested = value.$variant;
  if (nested !== undefined && nested !== null && typeof nested === 'object' && !Array.isArray(nested)) {
    return new Variant(String(nested.sig), fromStored(nested.value ?? null));
  }
  const dict = value.$dict;
  if (dict !== undefined && dict !== null && typeof dict === 'object' && !Array.isArray(dict)) {
    return Object.fromEntries(Object.entries(dict).map(([key, item]) => [key, fromStored(item)]));
  }
  throw new TypeError(`unreadable stored value ${JSON.stringify(value).slice(0, 80)}`);
}
