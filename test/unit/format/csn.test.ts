import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ErrorCodes, isSyncError } from '../../../src/errors/index.js';
import { compareCsn, csnTimestamp, formatCsn, MAX_CSN_TIME, parseCsn, type CsnParts } from '../../../src/format/index.js';
import { csn, csnParts } from './arbitraries.js';

function assertCsnError(fn: () => unknown, pattern?: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(isSyncError(error), 'a SyncError');
    assert.equal(error.code, ErrorCodes.CSN_INVALID);
    assert.equal(error.kind, 'record');
    if (pattern) assert.match(error.message, pattern);
    return true;
  });
}

function compareParts(a: CsnParts, b: CsnParts): number {
  const pairs: [bigint | number, bigint | number][] = [[a.time, b.time], [a.counter, b.counter], [a.replica, b.replica], [a.mod, b.mod]];
  for (const [x, y] of pairs) if (x !== y) return x < y ? -1 : 1;
  return 0;
}

describe('CSN text form', () => {
  test('parses an OpenLDAP entryCSN', () => {
    assert.deepStrictEqual(parseCsn('20090317155540.153622Z#00000a#001#000002'), {
      time: BigInt(Date.UTC(2009, 2, 17, 15, 55, 40)) * 1000n + 153_622n,
      counter: 10,
      replica: 1,
      mod: 2,
    });
  });

  test('formats with fixed widths and lowercase hex', () => {
    const time = BigInt(Date.UTC(2024, 0, 2, 3, 4, 5)) * 1000n + 6n;
    assert.equal(formatCsn({ time, counter: 0xabc, replica: 0xfff, mod: 0xffffff }), '20240102030405.000006Z#000abc#fff#ffffff');
    assert.equal(formatCsn({ time: 0n, counter: 0, replica: 0, mod: 0 }), '19700101000000.000000Z#000000#000#000000');
    assert.equal(formatCsn({ time: MAX_CSN_TIME, counter: 0, replica: 0, mod: 0 }), '99991231235959.999999Z#000000#000#000000');
  });

  test('the RFC 3339 time of a CSN', () => {
    assert.equal(csnTimestamp('20240102030405.000006Z#000abc#fff#ffffff'), '2024-01-02T03:04:05.000006Z');
  });

  test('refuses malformed CSNs with a record error', () => {
    const bad = [
      '',
      '20240102030405.000006Z#000abc#fff',
      '20240102030405.000006Z#000ABC#fff#ffffff', // uppercase hex would break string order
      '20240102030405.00006Z#000abc#fff#ffffff',
      '20240102030405.000006#000abc#fff#ffffff',
      '20240102030405.000006Z#000abc#1000#ffffff',
      '20240102030405.000006Z#000abc#fff#ffffff ',
      ' 20240102030405.000006Z#000abc#fff#ffffff',
      '20240230030405.000006Z#000abc#fff#ffffff', // February 30
      '20231301030405.000006Z#000abc#fff#ffffff', // month 13
      '20240100030405.000006Z#000abc#fff#ffffff', // day 0
      '20240102240405.000006Z#000abc#fff#ffffff', // hour 24
      '20240102036005.000006Z#000abc#fff#ffffff', // minute 60
      '20240102030460.000006Z#000abc#fff#ffffff', // second 60: no second bijective form
      '19691231235959.999999Z#000000#000#000000', // before the epoch
      '２0240102030405.000006Z#000abc#fff#ffffff',
    ];
    for (const text of bad) assertCsnError(() => parseCsn(text), /invalid CSN/);
    assertCsnError(() => parseCsn(undefined as unknown as string));
    assertCsnError(() => parseCsn('x'.repeat(10_000)), /…/);
  });

  test('leap day exists only in leap years', () => {
    assert.equal(parseCsn('20240229000000.000000Z#000000#000#000000').counter, 0);
    assertCsnError(() => parseCsn('21000229000000.000000Z#000000#000#000000'));
  });

  test('refuses to format out-of-range parts', () => {
    const ok = { time: 0n, counter: 0, replica: 0, mod: 0 };
    assertCsnError(() => formatCsn({ ...ok, time: -1n }), /time/);
    assertCsnError(() => formatCsn({ ...ok, time: MAX_CSN_TIME + 1n }), /time/);
    assertCsnError(() => formatCsn({ ...ok, time: 5 as unknown as bigint }), /time/);
    assertCsnError(() => formatCsn({ ...ok, counter: 0x1000000 }), /counter/);
    assertCsnError(() => formatCsn({ ...ok, replica: 4096 }), /replica/);
    assertCsnError(() => formatCsn({ ...ok, replica: 1.5 }), /replica/);
    assertCsnError(() => formatCsn({ ...ok, mod: -1 }), /mod/);
  });

  test('compareCsn refuses what is not a CSN', () => {
    assertCsnError(() => compareCsn('a', '20240102030405.000006Z#000abc#fff#ffffff'));
    assertCsnError(() => compareCsn('20240102030405.000006Z#000abc#fff#ffffff', 'b'));
  });

  test('parse and format are inverse', () => {
    fc.assert(fc.property(csnParts, (parts) => assert.deepStrictEqual(parseCsn(formatCsn(parts)), parts)));
    fc.assert(fc.property(csn, (text) => assert.equal(formatCsn(parseCsn(text)), text)));
  });

  test('string order is the total order of (time, counter, replica, mod)', () => {
    fc.assert(
      fc.property(csnParts, csnParts, (a, b) => {
        const sa = formatCsn(a);
        const sb = formatCsn(b);
        assert.equal(Math.sign(compareCsn(sa, sb)), compareParts(a, b));
        assert.equal(Math.sign(compareCsn(sa, sb)), -Math.sign(compareCsn(sb, sa)));
      }),
      { numRuns: 500 },
    );
  });

  test('order is transitive and sorting by string agrees with sorting by parts', () => {
    fc.assert(
      fc.property(fc.array(csnParts, { maxLength: 20 }), (parts) => {
        const byParts = [...parts].sort(compareParts).map(formatCsn);
        const byText = parts.map(formatCsn).sort(compareCsn);
        assert.deepStrictEqual(byText, byParts);
      }),
    );
  });

  test('neighbouring parts give neighbouring strings', () => {
    // The smallest step in each part still orders correctly (no width or carry surprises).
    fc.assert(
      fc.property(csnParts, (p) => {
        const s = formatCsn(p);
        if (p.mod < 0xffffff) assert.ok(compareCsn(s, formatCsn({ ...p, mod: p.mod + 1 })) < 0);
        if (p.counter < 0xffffff) assert.ok(compareCsn(formatCsn({ ...p, mod: 0xffffff, replica: 0xfff }), formatCsn({ ...p, counter: p.counter + 1, replica: 0, mod: 0 })) < 0);
        if (p.time < MAX_CSN_TIME) assert.ok(compareCsn(formatCsn({ ...p, counter: 0xffffff }), formatCsn({ ...p, time: p.time + 1n, counter: 0 })) < 0);
      }),
    );
  });
});
