/** Lexical rules for identifiers shared by the writer and the parser. */

const URN_UUID = /^urn:uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const SEQ = /^(?:0|[1-9]\d{0,19})$/;
const REPLICA = /^(?:0|[1-9]\d{0,3})$/;
const LENGTH = /^(?:0|[1-9]\d{0,15})$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;

/** Batch sequence numbers are unsigned 64-bit. */
export const MAX_SEQ = 2n ** 64n - 1n;

export function isUrnUuid(value: unknown): value is string {
  return typeof value === 'string' && URN_UUID.test(value);
}

export function isSha256Hex(value: unknown): value is string {
  return typeof value === 'string' && SHA256_HEX.test(value);
}

/** A decimal sequence number without sign or leading zeros, or undefined. */
export function parseSeq(text: string): bigint | undefined {
  if (!SEQ.test(text)) return undefined;
  const seq = BigInt(text);
  return seq <= MAX_SEQ ? seq : undefined;
}

/** A replica id 0..4095 written in decimal, or undefined. */
export function parseReplica(text: string): number | undefined {
  if (!REPLICA.test(text)) return undefined;
  const replica = Number(text);
  return replica <= 0xfff ? replica : undefined;
}

/** A byte length (safe integer) in decimal, or undefined. */
export function parseLength(text: string): number | undefined {
  if (!LENGTH.test(text)) return undefined;
  const length = Number(text);
  return Number.isSafeInteger(length) ? length : undefined;
}
