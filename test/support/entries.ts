import type { Field, ObjectEntry, TombstoneEntry } from '../../src/format/model.js';

/** Builds CSNs in the OpenLDAP form from a small number, for readable tests: csn(3) < csn(4). */
export function csn(n: number, replica = 1): string {
  const seconds = String(n).padStart(2, '0');
  return `20260101000${seconds.slice(-3).padStart(3, '0')}.000000Z#000000#${replica.toString(16).padStart(3, '0')}#000000`;
}

export function stringField(name: string, value: string | string[], at: string): Field {
  return { name, type: 'string', csn: at, values: Array.isArray(value) ? value : [value] };
}

export function objectEntry(overrides: Partial<ObjectEntry> & { id: string; csn: string }): ObjectEntry {
  return {
    deleted: false,
    origin: { jid: 'a@localhost', replica: 1 },
    type: 'note',
    tags: [],
    keys: [{ scheme: 'test-id', value: overrides.id }],
    fields: [],
    changed: [],
    children: [],
    attachments: [],
    ...overrides,
  };
}

export function tombstone(id: string, at: string): TombstoneEntry {
  return { id, csn: at, deleted: true, origin: { jid: 'a@localhost', replica: 1 }, type: 'note', tags: [], keys: [] };
}
