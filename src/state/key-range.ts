/**
 * Key ranges for prefix scans. SQLite compares TEXT with the BINARY collation, a memcmp of the
 * UTF-8 bytes, which is code point order. JavaScript compares UTF-16 code units, which disagrees
 * for characters above U+FFFF ("\u{10000}" < "\uFFFF" in JS), so bounds are computed on code
 * points and every comparison is left to SQLite.
 *
 * A range instead of LIKE: LIKE treats % and _ in the prefix as wildcards, is case-insensitive for
 * ASCII, and stops the index from being used.
 */

const MAX_CODE_POINT = 0x10ffff;
const REPLACEMENT_CHARACTER = 0xfffd;

/**
 * The smallest string greater than every string that starts with prefix, or undefined when there
 * is none (the prefix is empty or made only of U+10FFFF): increment the last code point that can
 * be incremented and drop what follows it.
 */
export function prefixUpperBound(prefix: string): string | undefined {
  const points = storedCodePoints(prefix);
  while (points.length > 0) {
    const last = points.pop() as number;
    if (last < MAX_CODE_POINT) {
      // Surrogate code points cannot be stored in UTF-8; the next storable one is U+E000.
      points.push(last === 0xd7ff ? 0xe000 : last + 1);
      return points.map((point) => String.fromCodePoint(point)).join('');
    }
  }
  return undefined;
}

/**
 * The smallest string greater than key: key followed by U+0000. Lets "after this key" be expressed
 * as an inclusive lower bound and combined with the prefix through SQL max().
 */
export function keySuccessor(key: string): string {
  return `${key}\u0000`;
}

/**
 * The code points of s as SQLite will store them: the UTF-8 conversion replaces a lone surrogate
 * by U+FFFD, so a bound computed from the raw surrogate would miss the stored keys.
 */
function storedCodePoints(s: string): number[] {
  return Array.from(s, (char) => {
    const point = char.codePointAt(0) as number;
    return point >= 0xd800 && point <= 0xdfff ? REPLACEMENT_CHARACTER : point;
  });
}
