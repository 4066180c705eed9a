import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ChangeField } from '../../../src/plugin-api/index.js';
import { DbusVariant } from '../../../plugins/dbus/dbus-variant.js';
import {
  MappingError,
  contentHash,
  decimalText,
  dictFromFields,
  fieldFromValue,
  fieldsFromDict,
} from '../../../plugins/dbus/mapping.js';

const v = (signature: string, value: unknown) => new DbusVariant(signature, value);

describe('dbus mapping: D-Bus values to fields', () => {
  it('maps each basic signature to its field type', () => {
    assert.deepEqual(fieldFromValue('a', v('s', 'x')), { name: 'a', type: 'string', values: ['x'] });
    assert.deepEqual(fieldFromValue('a', v('o', '/p')), { name: 'a', type: 'string', values: ['/p'] });
    for (const sig of ['x', 't']) assert.deepEqual(fieldFromValue('a', v(sig, 5n)).values, [5n]);
    for (const sig of ['i', 'u', 'n', 'q', 'y']) {
      assert.deepEqual(fieldFromValue('a', v(sig, 7)), { name: 'a', type: 'integer', values: [7n] });
    }
    assert.deepEqual(fieldFromValue('a', v('d', 0.5)), { name: 'a', type: 'decimal', values: ['0.5'] });
    assert.deepEqual(fieldFromValue('a', v('b', false)), { name: 'a', type: 'boolean', values: [false] });
  });

  it('maps ay to binary, a<basic> to multi-valued fields, and unwraps a nested v', () => {
    assert.deepEqual(fieldFromValue('a', v('ay', Uint8Array.from([1, 2]))), {
      name: 'a',
      type: 'binary',
      values: [Uint8Array.from([1, 2])],
    });
    assert.deepEqual(fieldFromValue('a', v('as', ['x', 'y'])), { name: 'a', type: 'string', values: ['x', 'y'] });
    assert.deepEqual(fieldFromValue('a', v('ax', [1n, 2n])), { name: 'a', type: 'integer', values: [1n, 2n] });
    assert.deepEqual(fieldFromValue('a', v('v', v('s', 'inner'))), { name: 'a', type: 'string', values: ['inner'] });
  });

  it('maps a{sv}, av and structs to json with variants unwrapped', () => {
    const nested = v('a{sv}', { n: v('x', 3n), big: v('t', 2n ** 63n), s: v('s', 'x'), bytes: v('ay', Uint8Array.from([255])) });
    assert.deepEqual(fieldFromValue('m', nested), {
      name: 'm',
      type: 'json',
      values: [{ n: 3, big: '9223372036854775808', s: 'x', bytes: '/w==' }],
    });
    assert.deepEqual(fieldFromValue('l', v('av', [v('s', 'a'), v('b', true)])).values, [['a', true]]);
    assert.deepEqual(fieldFromValue('st', v('(si)', ['a', 1])).values, [['a', 1]]);
  });

  it('refuses what is not an a{sv} of variants, naming the field', () => {
    assert.throws(() => fieldsFromDict(['x']), MappingError);
    assert.throws(() => fieldsFromDict({ title: 'bare string' }), /field title: expected a variant/);
    assert.throws(() => fieldFromValue('d', v('d', Number.NaN)), /NaN has no decimal form/);
  });

  it('sorts fields by name', () => {
    const fields = fieldsFromDict({ b: v('s', '2'), a: v('s', '1') });
    assert.deepEqual(
      fields.map((field) => field.name),
      ['a', 'b'],
    );
  });
});

describe('dbus mapping: decimal text', () => {
  it('writes doubles without exponents', () => {
    assert.equal(decimalText(12.5), '12.5');
    assert.equal(decimalText(-3), '-3');
    assert.equal(decimalText(1e-7), '0.0000001');
    assert.equal(decimalText(-1.5e-9), '-0.0000000015');
    assert.equal(decimalText(1e21), '1000000000000000000000');
    assert.equal(decimalText(1.25e22), '12500000000000000000000');
  });
});

describe('dbus mapping: fields to D-Bus values', () => {
  it('picks the narrowest signature, and reads back to the same fields', () => {
    const fields: ChangeField[] = [
      { name: 'b', type: 'boolean', values: [true, false] },
      { name: 'bin', type: 'binary', values: [Uint8Array.from([1])] },
      { name: 'd', type: 'decimal', values: ['2.5'] },
      { name: 'i', type: 'integer', values: [-1n] },
      { name: 'j', type: 'json', values: [{ a: [1, 'x'], b: true }] },
      { name: 's', type: 'string', values: ['one'] },
      { name: 'ss', type: 'string', values: ['one', 'two'] },
    ];
    const dict = dictFromFields(fields);
    assert.deepEqual(
      Object.fromEntries(Object.entries(dict).map(([name, variant]) => [name, variant.signature])),
      { b: 'ab', bin: 'ay', d: 'd', i: 'x', j: 'a{sv}', s: 's', ss: 'as' },
    );
    assert.deepEqual(fieldsFromDict(dict), fields);
  });

  it('writes a datetime as a string and json null as an empty av (D-Bus has no null)', () => {
    const dict = dictFromFields([
      { name: 'when', type: 'datetime', values: ['2026-01-01T00:00:00Z'] },
      { name: 'nothing', type: 'json', values: [null] },
    ]);
    assert.deepEqual(dict.when, v('s', '2026-01-01T00:00:00Z'));
    assert.deepEqual(dict.nothing, v('av', []));
  });
});

describe('dbus mapping: content hash', () => {
  it('ignores field order, and tells values, types and object types apart', () => {
    const a = { name: 'a', type: 'string', values: ['1'] } as const;
    const b = { name: 'b', type: 'integer', values: [1n] } as const;
    assert.equal(contentHash('note', [a, b]), contentHash('note', [b, a]));
    assert.notEqual(contentHash('note', [a]), contentHash('note', [{ ...a, values: ['2'] }]));
    assert.notEqual(contentHash('note', [a]), contentHash('note', [{ name: 'a', type: 'json', values: ['1'] }]));
    assert.notEqual(contentHash('note', [a]), contentHash('task', [a]));
  });
});
