import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ErrorCodes, isSyncError } from '../../../src/errors/index.js';
import { compareCsn, CsnClock, formatCsn, parseCsn } from '../../../src/format/index.js';

const T0 = Date.UTC(2024, 4, 1, 12, 0, 0);
const HOUR = 3_600_000;

/** A wall clock the test moves by hand. */
function manualClock(start = T0): { now: () => number; set: (ms: number) => void } {
  let current = start;
  return { now: () => current, set: (ms) => (current = ms) };
}

function assertIncreasing(csns: readonly string[]): void {
  for (let i = 1; i < csns.length; i++) assert.ok(compareCsn(csns[i - 1] as string, csns[i] as string) < 0, `${csns[i - 1]} < ${csns[i]}`);
}

function expectCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (error: unknown) => isSyncError(error) && error.code === code && error.kind === 'record');
}

describe('CsnClock', () => {
  test('follows the wall clock, with the replica id and mod 0', () => {
    const wall = manualClock(T0 + 0.5);
    const clock = new CsnClock({ replica: 0x2a, now: wall.now });
    assert.equal(clock.next(), '20240501120000.000500Z#000000#02a#000000');
    wall.set(T0 + 7);
    assert.equal(clock.next(), '20240501120000.007000Z#000000#02a#000000');
  });

  test('counts when the wall clock stalls', () => {
    const clock = new CsnClock({ replica: 1, now: () => T0 });
    const csns = Array.from({ length: 1000 }, () => clock.next());
    assertIncreasing(csns);
    assert.equal(parseCsn(csns[999] as string).counter, 999);
    assert.equal(new Set(csns.map((c) => parseCsn(c).time)).size, 1);
  });

  test('never goes backward when the wall clock does', () => {
    const wall = manualClock();
    const clock = new CsnClock({ replica: 1, now: wall.now });
    const first = clock.next();
    wall.set(T0 - HOUR);
    const second = clock.next();
    assert.ok(compareCsn(first, second) < 0);
    assert.equal(parseCsn(second).time, parseCsn(first).time, 'keeps the logical time');
    wall.set(T0 + 1);
    assert.equal(parseCsn(clock.next()).counter, 0, 'resumes the wall clock once it is ahead again');
  });

  test('counter overflow carries into the time', () => {
    const clock = new CsnClock({ replica: 1, now: () => T0 });
    clock.observe(formatCsn({ time: BigInt(T0) * 1000n, counter: 0xfffffe, replica: 7, mod: 3 }));
    const last = parseCsn(clock.next());
    assert.equal(last.counter, 0xffffff);
    const carried = parseCsn(clock.next());
    assert.deepStrictEqual(carried, { time: BigInt(T0) * 1000n + 1n, counter: 0, replica: 1, mod: 0 });
  });

  test('observe moves the clock forward to a remote CSN, never back', () => {
    const wall = manualClock();
    const clock = new CsnClock({ replica: 1, now: wall.now });
    const ahead = formatCsn({ time: BigInt(T0 + HOUR) * 1000n, counter: 5, replica: 9, mod: 0 });
    clock.observe(ahead);
    const next = clock.next();
    assert.ok(compareCsn(ahead, next) < 0);
    assert.deepStrictEqual(parseCsn(next), { ...parseCsn(ahead), counter: 6, replica: 1 });
    clock.observe(formatCsn({ time: BigInt(T0 - HOUR) * 1000n, counter: 0, replica: 9, mod: 0 }));
    assert.ok(compareCsn(next, clock.next()) < 0, 'an old CSN does not move the clock back');
  });

  test('passes slapd entryCSNs through observe', () => {
    const clock = new CsnClock({ replica: 3, now: () => Date.UTC(2009, 2, 17, 15, 55, 40) });
    const slapd = '20090317155540.153622Z#000000#001#000000';
    assert.equal(clock.observe(slapd).replica, 1);
    assert.ok(compareCsn(slapd, clock.next()) < 0);
  });

  test('refuses a CSN too far in the future without moving', () => {
    const clock = new CsnClock({ replica: 1, now: () => T0 });
    const before = clock.next();
    expectCode(() => clock.observe(formatCsn({ time: BigInt(T0 + 25 * HOUR) * 1000n, counter: 0, replica: 2, mod: 0 })), ErrorCodes.CSN_SKEW);
    assert.equal(parseCsn(clock.next()).time, parseCsn(before).time);
    // Exactly at the limit is still accepted.
    clock.observe(formatCsn({ time: BigInt(T0 + 24 * HOUR) * 1000n, counter: 0, replica: 2, mod: 0 }));
  });

  test('max forward skew is configurable', () => {
    const clock = new CsnClock({ replica: 1, now: () => T0, maxForwardSkewMs: 1000 });
    clock.observe(formatCsn({ time: BigInt(T0 + 1000) * 1000n, counter: 0, replica: 2, mod: 0 }));
    expectCode(() => clock.observe(formatCsn({ time: BigInt(T0 + 1001) * 1000n, counter: 0, replica: 2, mod: 0 })), ErrorCodes.CSN_SKEW);
  });

  test('observe refuses invalid CSNs', () => {
    const clock = new CsnClock({ replica: 1, now: () => T0 });
    expectCode(() => clock.observe('not a csn'), ErrorCodes.CSN_INVALID);
  });

  test('resumes after a restart from the last issued CSN', () => {
    const last = formatCsn({ time: BigInt(T0 + 48 * HOUR) * 1000n, counter: 3, replica: 1, mod: 0 });
    const clock = new CsnClock({ replica: 1, now: () => T0, after: last });
    assert.ok(compareCsn(last, clock.next()) < 0);
  });

  test('a broken wall clock does not break it', () => {
    const values = [T0, Number.NaN, -5, Number.POSITIVE_INFINITY, T0];
    const clock = new CsnClock({ replica: 1, now: () => values.shift() ?? T0 });
    assertIncreasing(Array.from({ length: 6 }, () => clock.next()));
  });

  test('refuses a bad configuration', () => {
    for (const replica of [-1, 4096, 1.5, Number.NaN]) {
      assert.throws(() => new CsnClock({ replica }), (e: unknown) => isSyncError(e) && e.kind === 'config');
    }
    assert.throws(() => new CsnClock({ replica: 1, maxForwardSkewMs: -1 }), (e: unknown) => isSyncError(e) && e.kind === 'config');
  });

  test('CSNs stay strictly increasing and ahead of everything observed, whatever the wall clock does', () => {
    const step = fc.oneof(
      fc.record({ kind: fc.constant('tick' as const), deltaMs: fc.integer({ min: -2 * HOUR, max: 2 * HOUR }) }),
      fc.record({ kind: fc.constant('next' as const) }),
      fc.record({
        kind: fc.constant('observe' as const),
        offsetMs: fc.integer({ min: -30 * HOUR, max: 30 * HOUR }),
        counter: fc.integer({ min: 0, max: 0xffffff }),
        replica: fc.integer({ min: 0, max: 0xfff }),
      }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const wall = manualClock();
        const clock = new CsnClock({ replica: 1, now: wall.now });
        let floor = '';
        for (const s of steps) {
          if (s.kind === 'tick') wall.set(wall.now() + s.deltaMs);
          else if (s.kind === 'next') {
            const csn = clock.next();
            assert.ok(csn > floor, `${csn} > ${floor}`);
            floor = csn;
          } else {
            const remote = formatCsn({ time: BigInt(wall.now() + s.offsetMs) * 1000n, counter: s.counter, replica: s.replica, mod: 0xffffff });
            try {
              clock.observe(remote);
              if (remote > floor) floor = remote;
            } catch (error) {
              assert.ok(isSyncError(error) && error.code === ErrorCodes.CSN_SKEW);
              assert.ok(s.offsetMs > 24 * HOUR);
            }
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
