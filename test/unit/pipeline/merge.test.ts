import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { merge } from '../../../src/pipeline/merge.js';
import type { AppliedObject } from '../../../src/state/state-store.js';
import { csn, objectEntry, stringField, tombstone } from '../../support/entries.js';

const id = 'urn:uuid:6f1c2c6e-8a47-4c1e-9a55-1f7d3c2b0a11';

function applied(csns: Record<string, string>, at: string, deleted = false): AppliedObject {
  return { globalId: id, localKey: 'k', csns, csn: at, deleted };
}

describe('merge (per-field last-writer-wins by CSN)', () => {
  it('applies every field of an object the sink has not seen', () => {
    const decision = merge(undefined, objectEntry({ id, csn: csn(1), fields: [stringField('a', 'x', csn(1)), stringField('b', 'y', csn(1))] }));
    assert.equal(decision.action, 'apply');
    assert.deepEqual(decision.action === 'apply' && decision.fields, ['a', 'b']);
  });

  it('applies only the fields whose CSN is newer than what was applied', () => {
    const before = applied({ a: csn(5), b: csn(2) }, csn(5));
    const entry = objectEntry({ id, csn: csn(4), fields: [stringField('a', 'old', csn(3)), stringField('b', 'new', csn(4))] });
    const decision = merge(before, entry);
    assert.equal(decision.action, 'apply');
    if (decision.action !== 'apply') return;
    assert.deepEqual(decision.fields, ['b']);
    assert.deepEqual(decision.next.csns, { a: csn(5), b: csn(4) });
    assert.equal(decision.next.csn, csn(5), 'the object version never goes backward');
  });

  it('breaks a CSN time tie on the replica id, the same way on every replica', () => {
    const fromTwo = objectEntry({ id, csn: csn(3, 2), fields: [stringField('a', 'two', csn(3, 2))] });
    const fromOne = objectEntry({ id, csn: csn(3, 1), fields: [stringField('a', 'one', csn(3, 1))] });
    assert.equal(merge(applied({ a: csn(3, 1) }, csn(3, 1)), fromTwo).action, 'apply');
    assert.equal(merge(applied({ a: csn(3, 2) }, csn(3, 2)), fromOne).action, 'skip');
  });

  it('skips a replayed entry (idempotent)', () => {
    const entry = objectEntry({ id, csn: csn(3), fields: [stringField('a', 'x', csn(3))] });
    assert.equal(merge(applied({ a: csn(3) }, csn(3)), entry).action, 'skip');
  });

  it('lets a tombstone beat older updates and lose to newer ones', () => {
    assert.equal(merge(applied({ a: csn(2) }, csn(2)), tombstone(id, csn(3))).action, 'delete');
    assert.equal(merge(applied({ a: csn(4) }, csn(2)), tombstone(id, csn(3))).action, 'skip');
  });

  it('does not bring a deleted object back with a late update, but a newer re-creation wins', () => {
    const deleted = applied({ a: csn(2) }, csn(5), true);
    assert.equal(merge(deleted, objectEntry({ id, csn: csn(4), fields: [stringField('a', 'late', csn(4))] })).action, 'skip');
    const recreated = merge(deleted, objectEntry({ id, csn: csn(6), fields: [stringField('a', 'again', csn(6))] }));
    assert.equal(recreated.action, 'apply');
    assert.equal(recreated.action === 'apply' && recreated.next.deleted, false);
  });
});
