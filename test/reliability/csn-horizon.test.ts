import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { csnTooFarAhead } from '../../src/transport/csn-horizon.js';
import { csn, objectEntry, stringField, tombstone } from '../support/entries.js';

const DAY = 24 * 60 * 60 * 1000;
// csn(n) is 2026-01-01T00:00:0n; "now" is that day at midnight.
const now = Date.UTC(2026, 0, 1);

describe('csnTooFarAhead (the inbound CSN horizon of the subscriber)', () => {
  it('takes CSNs up to the skew limit ahead of now', () => {
    assert.equal(csnTooFarAhead(objectEntry({ id: 'a', csn: csn(5), fields: [stringField('f', 'x', csn(5))] }), now, DAY), undefined);
  });

  it('finds a CSN beyond the limit in the entry, a field, or a tombstone', () => {
    const ahead = csn(5);
    assert.equal(csnTooFarAhead(objectEntry({ id: 'a', csn: ahead }), now, 1000)?.csn, ahead);
    const inField = objectEntry({ id: 'b', csn: csn(1), fields: [stringField('f', 'x', ahead)] });
    assert.equal(csnTooFarAhead(inField, now, 2000)?.csn, ahead);
    assert.equal(csnTooFarAhead(tombstone('c', ahead), now, 1000)?.aheadMs, 5000);
  });
});
