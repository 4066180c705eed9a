import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { merge } from '../../../src/pipeline/merge.js';
import { combine, isAlive, type ObjectVersion } from '../../../src/pipeline/object-version.js';
import { csn, objectEntry, stringField, tombstone } from '../../support/entries.js';

const id = 'urn:uuid:6f1c2c6e-8a47-4c1e-9a55-1f7d3c2b0a11';

function version(csns: Record<string, string>, revision: string, deletedAt?: string): ObjectVersion {
  return { csns, revision, ...(deletedAt ? { tombstone: deletedAt } : {}) };
}

describe('merge (per-field last-writer-wins by CSN)', () => {
  it('applies every field of an object the replica does not hold', () => {
    const decision = merge(undefined, objectEntry({ id, csn: csn(1), fields: [stringField('a', 'x', csn(1)), stringField('b', 'y', csn(1))] }));
    assert.equal(decision.action, 'apply');
    assert.deepEqual(decision.action === 'apply' && decision.fields, ['a', 'b']);
  });

  it('applies only the fields whose CSN is newer than what the replica holds', () => {
    const entry = objectEntry({ id, csn: csn(4), fields: [stringField('a', 'old', csn(3)), stringField('b', 'new', csn(4))] });
    const decision = merge(version({ a: csn(5), b: csn(2) }, csn(5)), entry);
    assert.equal(decision.action, 'apply');
    if (decision.action !== 'apply') return;
    assert.deepEqual(decision.fields, ['b']);
    assert.deepEqual(decision.next.csns, { a: csn(5), b: csn(4) });
    assert.equal(decision.next.revision, csn(5), 'the object version never goes backward');
  });

  it('breaks a CSN time tie on the replica id, the same way on every replica', () => {
    const fromTwo = objectEntry({ id, csn: csn(3, 2), fields: [stringField('a', 'two', csn(3, 2))] });
    const fromOne = objectEntry({ id, csn: csn(3, 1), fields: [stringField('a', 'one', csn(3, 1))] });
    assert.equal(merge(version({ a: csn(3, 1) }, csn(3, 1)), fromTwo).action, 'apply');
    assert.equal(merge(version({ a: csn(3, 2) }, csn(3, 2)), fromOne).action, 'skip');
  });

  it('skips a replayed entry (idempotent)', () => {
    const entry = objectEntry({ id, csn: csn(3), fields: [stringField('a', 'x', csn(3))] });
    assert.equal(merge(version({ a: csn(3) }, csn(3)), entry).action, 'skip');
    assert.equal(merge(version({ a: csn(2) }, csn(2), csn(3)), tombstone(id, csn(3))).action, 'skip');
  });

  it('lets a tombstone delete an object whose every part is older', () => {
    const decision = merge(version({ a: csn(2) }, csn(2)), tombstone(id, csn(3)));
    assert.equal(decision.action, 'delete');
    assert.equal(decision.action === 'delete' && isAlive(decision.next), false);
  });

  it('keeps an object edited after a concurrent delete, without the parts older than the delete', () => {
    const decision = merge(version({ a: csn(4), b: csn(1) }, csn(4)), tombstone(id, csn(3)));
    assert.equal(decision.action, 'clear');
    if (decision.action !== 'clear') return;
    assert.deepEqual(decision.fields, ['b'], 'b was written before the delete: it goes');
    assert.equal(isAlive(decision.next), true);
    assert.equal(decision.next.tombstone, csn(3));
  });

  it('does not bring a deleted object back with a late update; a newer one re-creates it with the newer parts only', () => {
    const deleted = version({ a: csn(2) }, csn(2), csn(5));
    assert.equal(merge(deleted, objectEntry({ id, csn: csn(4), fields: [stringField('a', 'late', csn(4))] })).action, 'skip');
    const recreated = merge(
      deleted,
      objectEntry({ id, csn: csn(6), fields: [stringField('a', 'again', csn(6)), stringField('b', 'stale', csn(1))] }),
    );
    assert.equal(recreated.action, 'apply');
    if (recreated.action !== 'apply') return;
    assert.deepEqual(recreated.fields, ['a']);
    assert.deepEqual(
      recreated.entry.fields.map((f) => f.name),
      ['a'],
      'b was written before the delete: the sink does not get it',
    );
    assert.equal(isAlive(recreated.next), true);
  });

  it('ends the same whichever of a delete and a concurrent edit arrives first', () => {
    const created = objectEntry({ id, csn: csn(1), fields: [stringField('a', 'x', csn(1)), stringField('b', 'y', csn(1))] });
    const edit = objectEntry({ id, csn: csn(4), fields: [stringField('a', 'z', csn(4)), stringField('b', 'y', csn(1))] });
    const del = tombstone(id, csn(3));
    const play = (order: typeof created[] | (typeof created | typeof del)[]): ObjectVersion | undefined =>
      order.reduce<ObjectVersion | undefined>((state, entry) => {
        const decision = merge(state, entry);
        return decision.action === 'skip' ? state : decision.next;
      }, undefined);
    const one = play([created, del, edit]);
    const two = play([created, edit, del]);
    assert.equal(isAlive(one), true);
    assert.equal(isAlive(two), true);
    assert.equal(one?.tombstone, two?.tombstone);
    assert.equal(one?.revision, two?.revision);
  });

  it('combines what the sink applied and the source captured: the newest of each', () => {
    const applied = version({ a: csn(2), b: csn(5) }, csn(5));
    const captured = version({ a: csn(4) }, csn(4), csn(3));
    assert.deepEqual(combine(applied, captured), { csns: { a: csn(4), b: csn(5) }, revision: csn(5), tombstone: csn(3) });
    assert.deepEqual(combine(applied, captured), combine(captured, applied));
  });
});
