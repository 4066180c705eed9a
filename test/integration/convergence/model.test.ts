import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expectedStates, seededRandom, type Revision } from '../../support/convergence-model.js';

/** The reference model itself (pure): the rule the convergence sets hold the replicas to. */

function csn(micros: number, replica: number): string {
  return `20260101000000.${String(micros).padStart(6, '0')}Z#000000#${replica.toString(16).padStart(3, '0')}#000000`;
}

function revision(at: number, replica: number, fields: Record<string, [number, string[]]>): Revision {
  return {
    id: 'urn:uuid:00000000-0000-4000-8000-000000000001',
    origin: replica,
    deleted: false,
    csn: csn(at, replica),
    keys: [{ scheme: 'test-id', value: 'x' }],
    fields: Object.entries(fields).map(([name, [fieldAt, values]]) => ({ name, csn: csn(fieldAt, replica), values })),
  };
}

function tombstone(at: number, replica: number): Revision {
  return { id: 'urn:uuid:00000000-0000-4000-8000-000000000001', origin: replica, deleted: true, csn: csn(at, replica), keys: [], fields: [] };
}

function only(revisions: Revision[]): { alive: boolean; fields: Record<string, readonly string[]> } {
  const [object] = expectedStates(revisions).values();
  assert.ok(object);
  return { alive: object.alive, fields: { ...object.fields } };
}

describe('convergence reference model', () => {
  it('keeps per field the value with the newest CSN, whatever the order', () => {
    const history = [
      revision(1, 1, { a: [1, ['a1']], b: [1, ['b1']] }),
      revision(2, 2, { a: [2, ['a2']], b: [1, ['b1']] }),
      revision(3, 1, { a: [1, ['a1']], b: [3, ['b3']] }),
    ];
    const rng = seededRandom(7);
    for (let round = 0; round < 20; round++) {
      const shuffled = [...history].sort(() => rng() - 0.5);
      assert.deepEqual(only(shuffled), { alive: true, fields: { a: ['a2'], b: ['b3'] } });
    }
  });

  it('breaks a tie of time by replica id', () => {
    assert.deepEqual(only([revision(5, 2, { a: [5, ['from-2']] }), revision(5, 1, { a: [5, ['from-1']] })]).fields, { a: ['from-2'] });
  });

  it('drops a field that travels empty', () => {
    assert.deepEqual(only([revision(1, 1, { a: [1, ['x']], b: [1, ['y']] }), revision(2, 2, { a: [2, []] })]).fields, { b: ['y'] });
  });

  it('lets a delete beat older revisions and lose to a newer one, which keeps only fields changed after it', () => {
    const created = revision(1, 1, { a: [1, ['a1']], b: [1, ['b1']] });
    assert.deepEqual(only([created, tombstone(2, 2)]), { alive: false, fields: {} });
    // An edit of b concurrent with the delete, stamped after it: only b survives.
    const edit = revision(3, 1, { a: [1, ['a1']], b: [3, ['b3']] });
    assert.deepEqual(only([created, tombstone(2, 2), edit]), { alive: true, fields: { b: ['b3'] } });
    // A late update stamped before the delete does not bring the object back.
    assert.deepEqual(only([tombstone(4, 2), edit, created]), { alive: false, fields: {} });
  });
});
