import type { ChangeField, DeleteChange, SourceKey, UpsertChange } from '../../src/plugin-api/index.js';
import type { LdapEntry, RawAttribute } from './ldap-client.js';

/**
 * Entry <-> neutral fields. Attribute values become string fields, binary attributes (and values
 * that are not UTF-8) binary fields; the structural objectClass is the type, configured
 * attributes give the tags, entryUUID is the global id.
 */

export const DN_KEY = 'ldap-dn';
export const UUID_KEY = 'ldap-entryuuid';

/** Attributes the server maintains: never published, never written by the sink. */
const OPERATIONAL = new Set(
  [
    'entryCSN',
    'entryUUID',
    'entryDN',
    'modifiersName',
    'modifyTimestamp',
    'creatorsName',
    'createTimestamp',
    'structuralObjectClass',
    'subschemaSubentry',
    'hasSubordinates',
    'numSubordinates',
    'contextCSN',
    'pwdChangedTime',
    'pwdFailureTime',
    'pwdAccountLockedTime',
  ].map((name) => name.toLowerCase()),
);

const PASSWORD_ATTRIBUTES = new Set(['userpassword', 'authpassword']);

export interface MappingOptions {
  /** Attributes published as binary fields even when their bytes happen to be UTF-8. */
  readonly binaryAttributes: readonly string[];
  /** Attributes whose values become the entry's tags. */
  readonly tagAttributes: readonly string[];
  /** Publish userPassword/authPassword. Off by default: hashes are secrets too. */
  readonly publishPasswords: boolean;
  /** Further attributes never published. */
  readonly excludeAttributes: readonly string[];
}

/** Attributes to request when reading an entry for publication. */
export const ENTRY_ATTRIBUTES = ['*', 'entryUUID', 'entryCSN', 'structuralObjectClass'];

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function baseName(attribute: string): string {
  // `userCertificate;binary` and `cn;lang-de` are options on the same attribute type.
  return attribute.split(';')[0]?.toLowerCase() ?? '';
}

export function isPublished(attribute: string, options: MappingOptions): boolean {
  const name = baseName(attribute);
  if (OPERATIONAL.has(name)) return false;
  if (!options.publishPasswords && PASSWORD_ATTRIBUTES.has(name)) return false;
  return !options.excludeAttributes.some((excluded) => excluded.toLowerCase() === name);
}

export function fieldOf(attribute: RawAttribute, options: MappingOptions): ChangeField {
  const binary =
    /;binary$/i.test(attribute.type) ||
    options.binaryAttributes.some((name) => name.toLowerCase() === baseName(attribute.type)) ||
    attribute.values.some((value) => !isUtf8(value));
  if (binary) return { name: attribute.type, type: 'binary', values: attribute.values.map((v) => new Uint8Array(v)) };
  return { name: attribute.type, type: 'string', values: attribute.values.map((v) => v.toString('utf8')) };
}

function isUtf8(value: Buffer): boolean {
  try {
    utf8.decode(value);
    return true;
  } catch {
    return false;
  }
}

export function firstValue(entry: LdapEntry, attribute: string): string | undefined {
  const wanted = attribute.toLowerCase();
  return entry.attributes.find((a) => a.type.toLowerCase() === wanted)?.values[0]?.toString('utf8');
}

export function keysOf(uuid: string, dn: string): SourceKey[] {
  // entryUUID first: it is the stable key, the DN changes with a rename.
  return [
    { scheme: UUID_KEY, value: uuid },
    { scheme: DN_KEY, value: dn },
  ];
}

/** The complete current state of an entry as an upsert; `changed` names the attributes a modification touched. */
export function upsertOf(
  entry: LdapEntry,
  options: MappingOptions,
  extras: { readonly changed?: readonly string[]; readonly sourceCsn?: string } = {},
): UpsertChange {
  const uuid = firstValue(entry, 'entryUUID');
  if (uuid === undefined) throw new Error(`entry ${entry.dn} has no entryUUID (was it requested?)`);
  const fields = entry.attributes.filter((a) => isPublished(a.type, options)).map((a) => fieldOf(a, options));
  const tags = tagsOf(entry, options);
  const changed = extras.changed?.filter((name) => isPublished(name, options)).map((name) => canonicalName(name, fields));
  const sourceCsn = extras.sourceCsn ?? firstValue(entry, 'entryCSN');
  return {
    op: 'upsert',
    keys: keysOf(uuid, entry.dn),
    globalId: uuid,
    type: typeOf(entry),
    ...(tags.length > 0 ? { tags } : {}),
    fields,
    ...(changed ? { changed: [...new Set(changed)] } : {}),
    ...(sourceCsn === undefined ? {} : { sourceCsn }),
  };
}

export function deleteOf(uuid: string, dn: string, type: string, sourceCsn: string | undefined): DeleteChange {
  return { op: 'delete', keys: keysOf(uuid, dn), globalId: uuid, type, ...(sourceCsn ? { sourceCsn } : {}) };
}

/** The structural object class; without structuralObjectClass, the last objectClass value (as slapd lists them). */
export function typeOf(entry: LdapEntry): string {
  const structural = firstValue(entry, 'structuralObjectClass');
  if (structural) return structural;
  const classes = entry.attributes.find((a) => a.type.toLowerCase() === 'objectclass')?.values ?? [];
  return classes.at(-1)?.toString('utf8') ?? 'top';
}

function tagsOf(entry: LdapEntry, options: MappingOptions): string[] {
  const wanted = new Set(options.tagAttributes.map((name) => name.toLowerCase()));
  const tags = entry.attributes
    .filter((a) => wanted.has(baseName(a.type)))
    .flatMap((a) => a.values.map((v) => v.toString('utf8')));
  return [...new Set(tags)];
}

/** A modification names the attribute as its writer spelled it; fields use the server's spelling. */
function canonicalName(name: string, fields: readonly ChangeField[]): string {
  const lower = name.toLowerCase();
  return fields.find((field) => field.name.toLowerCase() === lower)?.name ?? name;
}

/** Attributes the sink writes: anything but what the server maintains itself. */
export function isWritable(attribute: string): boolean {
  return !OPERATIONAL.has(baseName(attribute));
}
