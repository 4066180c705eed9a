import type { LdapEntry, RawAttribute } from './ldap-client.js';

/**
 * One write as slapd's accesslog overlay recorded it (an auditWriteObject under cn=accesslog).
 * reqMod values are raw bytes `attr:<op> value`; binary values and newlines are not encoded.
 */

export const RECORD_ATTRIBUTES = [
  'reqType',
  'reqDN',
  'reqAuthzID',
  'reqMod',
  'reqOld',
  'reqNewRDN',
  'reqDeleteOldRDN',
  'reqNewSuperior',
  'reqNewDN',
  'reqEntryUUID',
  'reqResult',
  'entryCSN',
];

export type ModOperation = 'add' | 'delete' | 'replace' | 'increment';

export interface LoggedModification {
  readonly type: string;
  readonly operation: ModOperation;
  /** Empty for `attr:-` (delete all values) and `attr:=` (replace with nothing). */
  readonly values: readonly Buffer[];
}

export interface AccesslogRecord {
  readonly type: 'add' | 'modify' | 'modrdn' | 'delete';
  readonly dn: string;
  readonly csn: string;
  readonly entryUuid?: string;
  readonly modifications: readonly LoggedModification[];
  /** With `logold`: the old values of modified attributes, or the whole deleted entry. */
  readonly old: readonly RawAttribute[];
  readonly newDn?: string;
}

const OPERATIONS: Readonly<Record<string, ModOperation>> = { '+': 'add', '-': 'delete', '=': 'replace', '#': 'increment' };
const COLON = 0x3a;
const SPACE = 0x20;

export class AccesslogFormatError extends Error {
  override readonly name = 'AccesslogFormatError';
}

export function recordOf(entry: LdapEntry): AccesslogRecord {
  const get = (name: string): readonly Buffer[] =>
    entry.attributes.find((a) => a.type.toLowerCase() === name.toLowerCase())?.values ?? [];
  const text = (name: string): string | undefined => get(name)[0]?.toString('utf8');
  const type = text('reqType');
  if (type !== 'add' && type !== 'modify' && type !== 'modrdn' && type !== 'delete') {
    throw new AccesslogFormatError(`accesslog record ${entry.dn} has reqType ${JSON.stringify(type)}`);
  }
  const dn = text('reqDN');
  const csn = text('entryCSN');
  if (dn === undefined || csn === undefined) throw new AccesslogFormatError(`accesslog record ${entry.dn} lacks reqDN or entryCSN`);
  const entryUuid = text('reqEntryUUID');
  const newDn = text('reqNewDN') ?? (type === 'modrdn' ? derivedNewDn(dn, text('reqNewRDN'), text('reqNewSuperior')) : undefined);
  return {
    type,
    dn,
    csn,
    ...(entryUuid === undefined ? {} : { entryUuid }),
    modifications: parseReqMod(get('reqMod')),
    old: parseReqOld(get('reqOld')),
    ...(newDn === undefined ? {} : { newDn }),
  };
}

/** Consecutive values with the same attribute and operation form one modification, as slapd logged them. */
export function parseReqMod(values: readonly Buffer[]): LoggedModification[] {
  const mods: { type: string; operation: ModOperation; values: Buffer[] }[] = [];
  for (const raw of values) {
    const colon = raw.indexOf(COLON);
    const opChar = colon < 0 ? undefined : String.fromCharCode(raw[colon + 1] ?? 0);
    const operation = opChar === undefined ? undefined : OPERATIONS[opChar];
    if (colon <= 0 || operation === undefined) {
      throw new AccesslogFormatError(`reqMod value ${JSON.stringify(raw.subarray(0, 40).toString('utf8'))} is not attr:<op> value`);
    }
    const type = raw.subarray(0, colon).toString('utf8');
    const hasValue = raw.length > colon + 2 && raw[colon + 2] === SPACE;
    const last = mods.at(-1);
    const target = last && last.type === type && last.operation === operation ? last : undefined;
    const entry = target ?? { type, operation, values: [] };
    if (!target) mods.push(entry);
    if (hasValue) entry.values.push(raw.subarray(colon + 3));
  }
  return mods;
}

/** reqOld values are `attr: value`, one per value. */
export function parseReqOld(values: readonly Buffer[]): RawAttribute[] {
  const byType = new Map<string, Buffer[]>();
  for (const raw of values) {
    const colon = raw.indexOf(COLON);
    if (colon <= 0) continue;
    const type = raw.subarray(0, colon).toString('utf8');
    const value = raw.subarray(raw[colon + 1] === SPACE ? colon + 2 : colon + 1);
    const list = byType.get(type) ?? [];
    list.push(value);
    byType.set(type, list);
  }
  return [...byType].map(([type, list]) => ({ type, values: list }));
}

function derivedNewDn(dn: string, newRdn: string | undefined, newSuperior: string | undefined): string | undefined {
  if (newRdn === undefined) return undefined;
  return `${newRdn},${newSuperior ?? parentOf(dn)}`;
}

/** The parent of a DN: everything after the first unescaped comma. */
export function parentOf(dn: string): string {
  for (let i = 0; i < dn.length; i++) {
    if (dn[i] === '\\') i++;
    else if (dn[i] === ',') return dn.slice(i + 1);
  }
  return '';
}

export function rdnOf(dn: string): string {
  const parent = parentOf(dn);
  return parent === '' ? dn : dn.slice(0, dn.length - parent.length - 1);
}

/** Attribute names in an RDN (`cn=a+sn=b` gives cn and sn). */
export function rdnAttributes(rdn: string): string[] {
  return rdn.split(/(?<!\\)\+/).map((part) => part.slice(0, part.indexOf('=')).trim());
}

/** A rough DN normalization for comparisons: case and spaces around separators. */
export function normalizeDn(dn: string): string {
  return dn
    .split(/(?<!\\),/)
    .map((rdn) => rdn.trim().replace(/\s*=\s*/, '=').toLowerCase())
    .join(',');
}

export function isWithin(dn: string, base: string): boolean {
  const d = normalizeDn(dn);
  const b = normalizeDn(base);
  return d === b || d.endsWith(`,${b}`);
}
