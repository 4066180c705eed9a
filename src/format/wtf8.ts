/**
 * WTF-8 (https://simonsapin.github.io/wtf-8/): UTF-8 extended to lone surrogates. JavaScript
 * strings may hold lone surrogates, which UTF-8 cannot encode, so escaped strings are WTF-8
 * before base64. For well-formed strings WTF-8 is exactly UTF-8.
 */

const utf8Fatal = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export function encodeWtf8(s: string): Uint8Array {
  if (!LONE_SURROGATE.test(s)) return Buffer.from(s, 'utf8');
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    let cp = s.charCodeAt(i);
    if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < s.length) {
      const low = s.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
        i++;
      }
    }
    pushCodePoint(out, cp);
  }
  return Uint8Array.from(out);
}

/** Decodes strict WTF-8; undefined for anything else (overlong forms, paired surrogates split in two, truncation). */
export function decodeWtf8(bytes: Uint8Array): string | undefined {
  try {
    return utf8Fatal.decode(bytes);
  } catch {
    return decodeWithSurrogates(bytes);
  }
}

function pushCodePoint(out: number[], cp: number): void {
  if (cp < 0x80) out.push(cp);
  else if (cp < 0x800) out.push(0xc0 | (cp >> 6), 0x80 | (cp & 0x3f));
  else if (cp < 0x10000) out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
  else out.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
}

function decodeWithSurrogates(bytes: Uint8Array): string | undefined {
  const units: number[] = [];
  let i = 0;
  while (i < bytes.length) {
    const step = decodeOne(bytes, i);
    if (step === undefined) return undefined;
    const [cp, length] = step;
    if (cp >= 0x10000) {
      units.push(0xd800 + ((cp - 0x10000) >> 10), 0xdc00 + ((cp - 0x10000) & 0x3ff));
    } else {
      // WTF-8 requires a lead+trail pair to be one 4-byte sequence, never two 3-byte ones.
      // (A lead surrogate as the last unit can only come from a 3-byte sequence.)
      const previous = units[units.length - 1] ?? 0;
      if (cp >= 0xdc00 && cp <= 0xdfff && previous >= 0xd800 && previous <= 0xdbff) return undefined;
      units.push(cp);
    }
    i += length;
  }
  let s = '';
  for (let j = 0; j < units.length; j += 8192) s += String.fromCharCode(...units.slice(j, j + 8192));
  return s;
}

/** One code point (surrogates allowed) at `i`: [code point, byte length], or undefined if malformed. */
function decodeOne(bytes: Uint8Array, i: number): [number, number] | undefined {
  const b0 = bytes[i] ?? 0;
  if (b0 < 0x80) return [b0, 1];
  const length = b0 >= 0xf0 && b0 <= 0xf4 ? 4 : b0 >= 0xe0 && b0 <= 0xef ? 3 : b0 >= 0xc2 && b0 <= 0xdf ? 2 : 0;
  if (length === 0 || i + length > bytes.length) return undefined;
  let cp = b0 & (0xff >> (length + 1));
  for (let k = 1; k < length; k++) {
    const b = bytes[i + k] ?? 0;
    if ((b & 0xc0) !== 0x80) return undefined;
    cp = (cp << 6) | (b & 0x3f);
  }
  const minimum = length === 2 ? 0x80 : length === 3 ? 0x800 : 0x10000;
  if (cp < minimum || cp > 0x10ffff) return undefined;
  return [cp, length];
}
