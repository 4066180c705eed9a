import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { openStateStore } from '../../../src/state/index.js';
import { prefixUpperBound } from '../../../src/state/key-range.js';
import { compareCodePoints } from './helpers.js';

describe('prefixUpperBound', () => {
  it('increments the last code point', () => {
    assert.equal(prefixUpperBound('ab'), 'ac');
    assert.equal(prefixUpperBound('a%'), 'a&');
    assert.equal(prefixUpperBound('a\uFFFF'), 'a\u{10000}');
    assert.equal(prefixUpperBound('a\u{10000}'), 'a\u{10001}');
  });

  it('skips the surrogate range, which UTF-8 cannot hold', () => {
    assert.equal(prefixUpperBound('a\uD7FF'), 'a\uE000');
  });

  it('drops trailing U+10FFFF, and has no bound when nothing can be incremented', () => {
    assert.equal(prefixUpperBound('a\u{10FFFF}\u{10FFFF}'), 'b');
    assert.equal(prefixUpperBound('\u{10FFFF}'), undefined);
    assert.equal(prefixUpperBound(''), undefined);
  });

  it('bounds as SQLite stores a lone surrogate (U+FFFD)', () => {
    assert.equal(prefixUpperBound('a\uD800'), 'a\uFFFE');
  });
});

// Characters where byte, code unit and code point orders or LIKE semantics disagree.
const tricky = ['a', 'b', '%', '_', '\\', "'", '\u0000', '\u007F', '\u00E9', '\uFFFF', '\u{10000}', '\u{1F600}', '\u{10FFFF}'];
const trickyString = fc.array(fc.constantFrom(...tricky), { maxLength: 4 }).map((chars) => chars.join(''));

describe('kvEntries against a model', () => {
  it('returns exactly the keys with the prefix, in code point order, through any paging', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(trickyString, { maxLength: 30 }),
        trickyString,
        fc.integer({ min: 1, max: 7 }),
        (keys, prefix, pageSize) => {
          const store = openStateStore(':memory:');
          try {
            for (const key of keys) store.kvPut('scope', key, `v:${key}`);
            store.kvPut('other-scope', prefix, 'not mine');
            const expected = keys.filter((key) => key.startsWith(prefix)).sort(compareCodePoints);

            const seen: string[] = [];
            let after: string | undefined;
            for (;;) {
              const page = store.kvEntries('scope', prefix, after, pageSize);
              assert.ok(page.length <= pageSize);
              for (const [key, value] of page) assert.equal(value, `v:${key}`);
              seen.push(...page.map(([key]) => key));
              if (page.length < pageSize) break;
              after = page.at(-1)?.[0];
            }
            assert.deepEqual(seen, expected);
          } finally {
            store.close();
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
