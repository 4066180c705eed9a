import type { ChangeField, Entry, UpsertChange } from '../../src/plugin-api/index.js';
import type { LdapClient, LdapEntry } from './ldap-client.js';

/**
 * The directory's schema (the cn=Subschema subentry) as a publishable object, and the names in
 * it, so that a sink can check attribute types and object classes before it applies an entry.
 */

export const SCHEMA_TYPE = 'ldap-schema';
export const SCHEMA_KEY = 'ldap-schema';
const SCHEMA_ATTRIBUTES = ['attributeTypes', 'objectClasses', 'ldapSyntaxes', 'matchingRules'];

export async function readSubschema(client: LdapClient): Promise<LdapEntry | undefined> {
  let dn = 'cn=Subschema';
  for await (const root of client.search({ base: '', scope: 'base', filter: '(objectClass=*)', attributes: ['subschemaSubentry'] })) {
    dn = root.attributes.find((a) => a.type.toLowerCase() === 'subschemasubentry')?.values[0]?.toString() ?? dn;
  }
  for await (const entry of client.search({ base: dn, scope: 'base', filter: '(objectClass=subschema)', attributes: SCHEMA_ATTRIBUTES })) {
    return entry;
  }
  return undefined;
}

/** The schema as an upsert; the core gives it a stable id by its key and skips it when unchanged. */
export function schemaChange(entry: LdapEntry): UpsertChange {
  const fields: ChangeField[] = entry.attributes.map((a) => ({ name: a.type, type: 'string', values: a.values.map(String) }));
  return { op: 'upsert', keys: [{ scheme: SCHEMA_KEY, value: entry.dn }], type: SCHEMA_TYPE, fields };
}

export interface SchemaNames {
  readonly attributeTypes: ReadonlySet<string>;
  readonly objectClasses: ReadonlySet<string>;
}

/** Lower-cased NAMEs (and OIDs) of the definitions, from RFC 4512 descriptions. */
export function schemaNames(definitions: { attributeTypes: readonly string[]; objectClasses: readonly string[] }): SchemaNames {
  return { attributeTypes: namesIn(definitions.attributeTypes), objectClasses: namesIn(definitions.objectClasses) };
}

export function namesOfEntry(entry: LdapEntry): SchemaNames {
  const values = (name: string): string[] =>
    entry.attributes.find((a) => a.type.toLowerCase() === name.toLowerCase())?.values.map(String) ?? [];
  return schemaNames({ attributeTypes: values('attributeTypes'), objectClasses: values('objectClasses') });
}

export function namesOfSchemaEntry(entry: Entry): SchemaNames {
  const values = (name: string): string[] => {
    if (entry.deleted) return [];
    const field = entry.fields.find((f) => f.name.toLowerCase() === name.toLowerCase());
    return field ? (field.values as readonly unknown[]).map(String) : [];
  };
  return schemaNames({ attributeTypes: values('attributeTypes'), objectClasses: values('objectClasses') });
}

function namesIn(descriptions: readonly string[]): Set<string> {
  const names = new Set<string>();
  for (const description of descriptions) {
    const oid = /^\(\s*([\d.]+)/.exec(description)?.[1];
    if (oid) names.add(oid);
    const match = /\bNAME\s+(\(\s*(?:'[^']*'\s*)+\)|'[^']*')/.exec(description);
    for (const quoted of match?.[1]?.match(/'[^']*'/g) ?? []) names.add(quoted.slice(1, -1).toLowerCase());
  }
  return names;
}

/** Per object class (every NAME, lower-cased): the attributes it requires and the classes it derives from (RFC 4512 MUST, SUP). */
export type ClassRequirements = ReadonlyMap<string, { readonly must: readonly string[]; readonly sup: readonly string[] }>;

export function classRequirements(entry: LdapEntry): ClassRequirements {
  const descriptions = entry.attributes.find((a) => a.type.toLowerCase() === 'objectclasses')?.values.map(String) ?? [];
  const requirements = new Map<string, { must: string[]; sup: string[] }>();
  for (const description of descriptions) {
    const definition = { must: oidList(description, 'MUST'), sup: oidList(description, 'SUP') };
    for (const name of namesIn([description])) requirements.set(name, definition);
  }
  return requirements;
}

/** Every attribute (lower-cased) the object classes require, their superclasses' included. */
export function requiredAttributes(requirements: ClassRequirements, classes: readonly string[]): Set<string> {
  const required = new Set<string>();
  const seen = new Set<string>();
  const visit = (name: string): void => {
    if (seen.has(name)) return;
    seen.add(name);
    const definition = requirements.get(name);
    definition?.must.forEach((attribute) => required.add(attribute));
    definition?.sup.forEach(visit);
  };
  classes.forEach((name) => visit(name.toLowerCase()));
  return required;
}

/** A description's `KEYWORD oid` or `KEYWORD ( oid $ oid )`, lower-cased. */
function oidList(description: string, keyword: string): string[] {
  const match = new RegExp(`\\b${keyword}\\s+(\\(([^)]*)\\)|([^\\s()]+))`).exec(description);
  const list = match?.[2] ?? match?.[3] ?? '';
  return list.split('$').map((oid) => oid.trim().toLowerCase()).filter((oid) => oid !== '');
}

/** Names `wanted` uses that `have` lacks. */
export function missingNames(have: SchemaNames, wanted: SchemaNames): { attributeTypes: string[]; objectClasses: string[] } {
  const lacking = (mine: ReadonlySet<string>, theirs: ReadonlySet<string>): string[] =>
    [...theirs].filter((name) => !/^[\d.]+$/.test(name) && !mine.has(name)).sort();
  return {
    attributeTypes: lacking(have.attributeTypes, wanted.attributeTypes),
    objectClasses: lacking(have.objectClasses, wanted.objectClasses),
  };
}
