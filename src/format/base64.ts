/**
 * Strict base64 (RFC 4648 section 4, padded, no whitespace). Node's decoder skips anything it
 * does not understand, which would let corrupt data through; this one refuses it.
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const BASE64 = /^[A-Za-z0-9+/]*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** The bytes, or undefined when `text` is not canonical padded base64. */
export function decodeBase64(text: string): Uint8Array | undefined {
  if (text.length % 4 !== 0 || !BASE64.test(text)) return undefined;
  if (!unusedBitsAreZero(text)) return undefined;
  const buffer = Buffer.from(text, 'base64');
  // Small buffers are slices of Node's shared pool: copy those so the caller owns its memory.
  return buffer.byteLength === buffer.buffer.byteLength
    ? new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength)
    : new Uint8Array(buffer);
}

// Non-zero padding bits would let two texts decode to the same bytes; only the canonical one is accepted.
function unusedBitsAreZero(text: string): boolean {
  if (text.endsWith('==')) return (ALPHABET.indexOf(text.charAt(text.length - 3)) & 0x0f) === 0;
  if (text.endsWith('=')) return (ALPHABET.indexOf(text.charAt(text.length - 2)) & 0x03) === 0;
  return true;
}
