import {
  ABSENT_PART,
  ErrorCodes,
  NotConnectedError,
  type ApplyOutcome,
  type Entry,
  type Field,
  type ObjectEntry,
  type PluginContext,
  type PluginStore,
  type Sink,
  type SinkOperation,
  partHash,
} from '../../src/plugin-api/index.js';
import { normalizeDn, parentOf, rdnAttributes, rdnOf } from './accesslog-record.js';
import type { SinkOptions } from './config.js';
import { escapeDnValue } from './filter-escape.js';
import { LdapResultError, openLdapClient, type LdapClient, type LdapEntry, type LdapModification, type RawAttribute } from './ldap-client.js';
import { DN_KEY, baseName, fieldOf, isWritable } from './mapping.js';
import { isTransientResult } from './protocol/result-codes.js';
import { SCHEMA_TYPE, classRequirements, missingNames, namesOfEntry, namesOfSchemaEntry, readSubschema, requiredAttributes, type ClassRequirements, type SchemaNames } from './schema.js';

const NO_SUCH_OBJECT = 32;
const ALREADY_EXISTS = 68;
const OBJECT_CLASS_VIOLATION = 65;
/** How the ldap source turns attributes into fields, for comparing with what the core expects. */
const READ_AS_SOURCE = { binaryAttributes: [], tagAttributes: [], publishPasswords: true, excludeAttributes: [] };
/** noSuchAttribute, attributeOrValueExists: a value delta the server's matching rules disagree with. */
const VALUE_CONFLICTS = new Set([16, 20]);

/**
 * Applies entries to a directory as the replicator DN (whose writes the LDAP source does not
 * capture again). Only the fields the core names are written, and of those only the attributes
 * whose values differ: a minimal modify, not a rewrite. The DN comes from config (an RDN
 * attribute and a parent) or from the entry's ldap-dn key.
 */
export class LdapSink implements Sink {
  readonly #options: SinkOptions;
  readonly #store: PluginStore;
  readonly #context: PluginContext;
  #client: Promise<LdapClient> | undefined;
  #schema: Promise<SchemaNames> | undefined;
  #classes: Promise<ClassRequirements> | undefined;

  constructor(options: SinkOptions, context: PluginContext) {
    this.#options = options;
    this.#context = context;
    this.#store = context.store();
  }

  async apply(batch: readonly SinkOperation[], _signal: AbortSignal): Promise<readonly ApplyOutcome[]> {
    if (batch.length === 0) return [];
    let client = await this.#connect();
    if (!client.open) {
      // The server closed the connection while idle (a restart): reconnect before the first write.
      this.#client = undefined;
      client = await this.#connect();
    }
    const outcomes: ApplyOutcome[] = [];
    try {
      for (const operation of batch) outcomes.push(await this.#applyOne(client, operation));
    } catch (error) {
      // A lost connection fails the call (the core retries it; apply is idempotent); reconnect next time.
      if (error instanceof NotConnectedError) this.#client = undefined;
      throw error;
    }
    return outcomes;
  }

  async close(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    await (await client?.catch(() => undefined))?.close();
  }

  #connect(): Promise<LdapClient> {
    const { url, bindDn, password, timeoutMs } = this.#options;
    this.#client ??= openLdapClient({ url, bindDn, password, timeoutMs });
    const client = this.#client;
    client.catch(() => {
      if (this.#client === client) this.#client = undefined;
    });
    return client;
  }

  async #applyOne(client: LdapClient, operation: SinkOperation): Promise<ApplyOutcome> {
    if (operation.entry.type === SCHEMA_TYPE) return this.#compareSchema(client, operation.entry);
    try {
      if (this.#options.checkSchema && !operation.entry.deleted) await this.#checkSchema(client, operation);
      return operation.entry.deleted
        ? await this.#delete(client, operation.entry, operation.localKey, operation.expected)
        : await this.#upsert(client, operation, operation.entry);
    } catch (error) {
      if (error instanceof LdapResultError && !isTransientResult(error.resultCode)) {
        return { status: 'rejected', code: ErrorCodes.LDAP_REJECTED, reason: error.message, details: error.details };
      }
      if (error instanceof EntryRefused) {
        return { status: 'rejected', code: ErrorCodes.LDAP_REJECTED, reason: error.message, details: { id: operation.entry.id } };
      }
      throw error;
    }
  }

  /** A published schema is compared with this server's, never written into the directory. */
  async #compareSchema(client: LdapClient, entry: Entry): Promise<ApplyOutcome> {
    if (entry.deleted || !this.#options.checkSchema) return { status: 'skipped', reason: 'schema entries are not written to the directory' };
    const missing = missingNames(await this.#localSchema(client), namesOfSchemaEntry(entry));
    const count = missing.attributeTypes.length + missing.objectClasses.length;
    if (count === 0) return { status: 'skipped', reason: "the origin's schema holds nothing this server lacks" };
    this.#context.logger.warn({ missing }, "the origin's schema has definitions this server lacks");
    const list = [...missing.attributeTypes, ...missing.objectClasses].join(', ');
    return { status: 'skipped', reason: `${count} definitions of the origin's schema are missing here: ${list}` };
  }

  /** Refuses an entry naming attribute types or object classes unknown here, before any write. */
  async #checkSchema(client: LdapClient, operation: SinkOperation): Promise<void> {
    const schema = await this.#localSchema(client);
    const { entry } = operation;
    if (entry.deleted) return;
    const types = operation.fields.map((name) => baseName(this.#attributeOf(name)));
    const classes = entry.fields
      .filter((field) => this.#attributeOf(field.name).toLowerCase() === 'objectclass')
      .flatMap((field) => (field.values as readonly unknown[]).map((v) => textOf(v).toLowerCase()));
    const unknownTypes = types.filter((type) => !schema.attributeTypes.has(type));
    const unknownClasses = classes.filter((name) => !schema.objectClasses.has(name));
    if (unknownTypes.length + unknownClasses.length > 0) {
      const parts = [
        ...(unknownTypes.length > 0 ? [`attribute types ${unknownTypes.join(', ')}`] : []),
        ...(unknownClasses.length > 0 ? [`object classes ${unknownClasses.join(', ')}`] : []),
      ];
      throw new EntryRefused(`entry ${entry.id} uses ${parts.join(' and ')} unknown to the schema of ${this.#options.url}`);
    }
  }

  #localSchema(client: LdapClient): Promise<SchemaNames> {
    this.#schema ??= readSubschema(client).then((entry) => {
      if (entry === undefined) throw new Error(`no readable subschema subentry on ${this.#options.url}`);
      return namesOfEntry(entry);
    });
    const schema = this.#schema;
    schema.catch(() => {
      if (this.#schema === schema) this.#schema = undefined;
    });
    return schema;
  }

  async #delete(client: LdapClient, entry: Entry, localKey: string | undefined, expected?: Readonly<Record<string, string>>): Promise<ApplyOutcome> {
    const dn = localKey ?? (await this.#store.get(storeKey(entry.id))) ?? keyDn(entry);
    if (dn === undefined) return { status: 'skipped', reason: 'no local entry is known for this id' };
    const current = expected ? await read(client, dn) : undefined;
    const unseen = current && expected ? await this.#unseenAttributes(client, dn, current, expected) : [];
    if (current && expected && (unseen.length > 0 || this.#changedSince(current, expected))) {
      // Changed in the directory since the core last saw it: only what the core saw goes. The
      // change, once captured, is newer than this delete and brings the entry back everywhere.
      const fields = Object.keys(expected).filter((name) => !name.startsWith('child:') && !name.startsWith('attachment:'));
      const seen = fields.filter((name) => !this.#changedSince(current, { [name]: expected[name] ?? ABSENT_PART }));
      const removal: ObjectEntry = { ...entry, deleted: false, fields: [], changed: [], children: [], attachments: [] };
      await this.#modify(client, dn, removal, seen, current);
      return { status: 'applied', localKey: dn, left: [...fields.filter((name) => !seen.includes(name)), ...unseen] };
    }
    try {
      await client.delete(dn);
    } catch (error) {
      if (!(error instanceof LdapResultError && error.resultCode === NO_SUCH_OBJECT)) throw error;
      await this.#store.delete(storeKey(entry.id));
      return { status: 'skipped', reason: `${dn} does not exist` };
    }
    await this.#store.delete(storeKey(entry.id));
    return { status: 'applied', localKey: dn };
  }

  async #upsert(client: LdapClient, operation: SinkOperation, entry: ObjectEntry, again = true): Promise<ApplyOutcome> {
    const { fields: names, localKey, outlived = [] } = operation;
    const known = localKey ?? (await this.#store.get(storeKey(entry.id)));
    const dn = this.#dnOf(entry, known);
    if (known !== undefined && normalizeDn(known) !== normalizeDn(dn)) await this.#rename(client, known, dn);
    const current = await read(client, dn);
    if (current === undefined && operation.removeOnly) return { status: 'skipped', reason: `${dn} does not exist: nothing to remove` };
    let left: string[] = [];
    try {
      if (current === undefined) {
        try {
          await client.add(dn, await this.#creatable(client, dn, entry, outlived));
        } catch (error) {
          // Created meanwhile (or by an earlier try of this batch): fall through to a modify.
          if (!(error instanceof LdapResultError && error.resultCode === ALREADY_EXISTS)) throw error;
          left = await this.#modify(client, dn, entry, names, await read(client, dn), operation.expected);
        }
      } else {
        left = await this.#modify(client, dn, entry, names, current, operation.expected);
      }
    } catch (error) {
      // Deleted in the directory between our read and our write: with a linked source that delete
      // is captured and is the newest change; without one, write the entry again from scratch.
      if (!(error instanceof LdapResultError && error.resultCode === NO_SUCH_OBJECT)) throw error;
      if (operation.expected) return { status: 'skipped', reason: `${dn} was deleted in the directory since the core last saw it` };
      if (!again) throw error;
      return this.#upsert(client, operation, entry, false);
    }
    // Only for tombstones that come without a local key: skip the durable write when the core knows it.
    if (localKey !== dn) await this.#store.put(storeKey(entry.id), dn);
    return { status: 'applied', localKey: dn, ...(left.length > 0 ? { left } : {}) };
  }

  async #rename(client: LdapClient, from: string, to: string): Promise<void> {
    const newSuperior = normalizeDn(parentOf(from)) === normalizeDn(parentOf(to)) ? undefined : parentOf(to);
    try {
      await client.modifyDn(from, rdnOf(to), {
        deleteOldRdn: this.#options.deleteOldRdn,
        ...(newSuperior === undefined ? {} : { newSuperior }),
      });
    } catch (error) {
      // The old entry is gone: the upsert creates the new one.
      if (!(error instanceof LdapResultError && error.resultCode === NO_SUCH_OBJECT)) throw error;
    }
  }

  /**
   * Writes the named fields that differ. With `expected` (SinkOperation.expected) a field the
   * directory changed since the core last saw it is left: the change, once captured, is newer.
   * Value deltas make the server check the old values too; when they no longer match, the entry
   * is read again and checked again rather than overwritten.
   */
  async #modify(
    client: LdapClient,
    dn: string,
    entry: ObjectEntry,
    names: readonly string[],
    current: LdapEntry | undefined,
    expected?: Readonly<Record<string, string>>,
  ): Promise<string[]> {
    let written: readonly string[] = names;
    const unchanged = (entryNow: LdapEntry | undefined): readonly string[] => {
      written = expected && entryNow ? names.filter((name) => expected[name] === undefined || !this.#changedSince(entryNow, { [name]: expected[name] })) : names;
      return written;
    };
    // Once: a second conflict is the server's matching rules disagreeing with ours (re-cased values).
    const checkAgain = expected
      ? async (): Promise<void> => {
          const now = await read(client, dn);
          await this.#modifyAs(client, dn, entry, unchanged(now), now);
        }
      : undefined;
    await this.#modifyAs(client, dn, entry, unchanged(current), current, checkAgain);
    // What the directory changed since the core saw it stays: the core must know (ApplyOutcome.left).
    return names.filter((name) => !written.includes(name));
  }

  async #modifyAs(
    client: LdapClient,
    dn: string,
    entry: ObjectEntry,
    names: readonly string[],
    current: LdapEntry | undefined,
    onConflict?: () => Promise<void>,
  ): Promise<void> {
    const have = new Map((current?.attributes ?? []).map((a) => [a.type.toLowerCase(), a.values]));
    // The entry's name stays: removing its RDN value (a delete this revision outlived) would fail.
    const naming = new Set(rdnAttributes(rdnOf(dn)).map((type) => type.toLowerCase()));
    const replaces: LdapModification[] = [];
    const deltas: LdapModification[] = [];
    const emptied = new Set<string>();
    for (const name of new Set(names)) {
      const type = this.#attributeOf(name);
      if (!isWritable(type)) continue;
      const field = entry.fields.find((f) => f.name === name);
      const values = field ? valuesOf(field) : [];
      const existing = have.get(type.toLowerCase()) ?? [];
      if (sameValues(values, existing) || (values.length === 0 && naming.has(type.toLowerCase()))) continue;
      if (values.length === 0) emptied.add(type);
      replaces.push({ operation: 'replace', type, values });
      deltas.push(...valueDelta(type, existing, values));
    }
    if (replaces.length === 0) return;
    try {
      await this.#modifyEither(client, dn, deltas, replaces, onConflict);
    } catch (error) {
      if (!(error instanceof LdapResultError && error.resultCode === OBJECT_CLASS_VIOLATION) || emptied.size === 0) throw error;
      // An attribute the entry's object classes require (a person's sn) cannot go: it stays.
      const required = requiredAttributes(await this.#requirements(client), [...(have.get('objectclass') ?? [])].map(String));
      const staying = [...emptied].filter((type) => required.has(type.toLowerCase()));
      if (staying.length === 0) throw error;
      const kept = (mods: LdapModification[]): LdapModification[] => mods.filter((mod) => !staying.includes(mod.type));
      if (kept(replaces).length > 0) await this.#modifyEither(client, dn, kept(deltas), kept(replaces));
    }
  }

  /**
   * Value by value (a group gaining one member sends that member). When the entry changed since it
   * was read (a value already gone or back): `onConflict`, else whole values.
   */
  async #modifyEither(client: LdapClient, dn: string, deltas: LdapModification[], replaces: LdapModification[], onConflict?: () => Promise<void>): Promise<void> {
    try {
      await client.modify(dn, deltas);
    } catch (error) {
      if (!(error instanceof LdapResultError && VALUE_CONFLICTS.has(error.resultCode))) throw error;
      if (onConflict) await onConflict();
      else await client.modify(dn, replaces);
    }
  }

  /**
   * Attributes the entry holds that the core never saw (a value added since: a delete must leave
   * it), besides the naming attribute, the object classes and what they require, which this sink
   * may have added itself to create the entry.
   */
  async #unseenAttributes(client: LdapClient, dn: string, current: LdapEntry, expected: Readonly<Record<string, string>>): Promise<string[]> {
    const known = new Set(Object.keys(expected).map((name) => this.#attributeOf(name).toLowerCase()));
    const naming = new Set(rdnAttributes(rdnOf(dn)).map((type) => type.toLowerCase()));
    const candidates = current.attributes
      .map((a) => a.type)
      .filter((type) => isWritable(type) && !known.has(type.toLowerCase()) && !naming.has(type.toLowerCase()) && type.toLowerCase() !== 'objectclass');
    if (candidates.length === 0) return [];
    const classes = current.attributes.find((a) => a.type.toLowerCase() === 'objectclass')?.values.map(String) ?? [];
    const required = requiredAttributes(await this.#requirements(client), classes);
    return candidates.filter((type) => !required.has(type.toLowerCase()));
  }

  /** Whether an entry holds, in one of these fields, something other than the core expected (SinkOperation.expected). */
  #changedSince(current: LdapEntry, expected: Readonly<Record<string, string>>): boolean {
    return Object.entries(expected).some(([name, hash]) => {
      if (name.startsWith('child:') || name.startsWith('attachment:')) return false;
      const type = this.#attributeOf(name).toLowerCase();
      const attribute = current.attributes.find((a) => a.type.toLowerCase() === type);
      const held = attribute ? partHash(fieldOf(attribute, READ_AS_SOURCE)) : ABSENT_PART;
      return held !== hash;
    });
  }

  /**
   * The attributes of a new entry: the entry's, and, of the fields a delete removed that the
   * object outlived (SinkOperation.outlived), those the directory cannot create it without: its
   * naming attribute and what its object classes require.
   */
  async #creatable(client: LdapClient, dn: string, entry: ObjectEntry, outlived: readonly Field[]): Promise<RawAttribute[]> {
    const attributes = this.#attributes(entry, entry.fields.map((field) => field.name));
    if (outlived.length === 0) return attributes;
    const typeOf = (field: Field): string => this.#attributeOf(field.name).toLowerCase();
    const held = new Set(attributes.map((a) => a.type.toLowerCase()));
    const restore = (fields: readonly Field[]): RawAttribute[] => this.#attributes({ ...entry, fields }, fields.map((field) => field.name));
    // Without its object classes nothing can be created: they come back first, then what they require.
    const withClasses = [...attributes, ...restore(outlived.filter((field) => typeOf(field) === 'objectclass' && !held.has('objectclass')))];
    const classes = withClasses.filter((a) => a.type.toLowerCase() === 'objectclass').flatMap((a) => a.values.map(String));
    const required = requiredAttributes(await this.#requirements(client), classes);
    for (const type of rdnAttributes(rdnOf(dn))) required.add(type.toLowerCase());
    required.delete('objectclass');
    return [...withClasses, ...restore(outlived.filter((field) => required.has(typeOf(field)) && !held.has(typeOf(field))))];
  }

  #requirements(client: LdapClient): Promise<ClassRequirements> {
    this.#classes ??= readSubschema(client).then((entry) => (entry === undefined ? new Map() : classRequirements(entry)));
    const requirements = this.#classes;
    requirements.catch(() => {
      if (this.#classes === requirements) this.#classes = undefined;
    });
    return requirements;
  }

  #attributes(entry: ObjectEntry, names: readonly string[]): RawAttribute[] {
    return entry.fields
      .filter((field) => names.includes(field.name) && field.values.length > 0 && isWritable(this.#attributeOf(field.name)))
      .map((field) => ({ type: this.#attributeOf(field.name), values: valuesOf(field) }));
  }

  #attributeOf(fieldName: string): string {
    return this.#options.attributeMap[fieldName] ?? fieldName;
  }

  /** The entry's DN: by the dn rule, else its key; the one it has here when the entry does not say. */
  #dnOf(entry: ObjectEntry, known: string | undefined): string {
    const rule = this.#options.dn;
    if (rule === undefined) {
      const dn = keyDn(entry) ?? known;
      if (dn === undefined) throw new EntryRefused(`entry ${entry.id} has no ${DN_KEY} key and the sink has no dn rule`);
      return dn;
    }
    const wanted = rule.rdnAttribute.toLowerCase();
    const field = entry.fields.find((f) => this.#attributeOf(f.name).toLowerCase() === wanted);
    const value = field?.values[0];
    if (field === undefined || value === undefined) {
      // The naming value was removed by a delete this revision outlived: the entry keeps its name.
      if (known !== undefined) return known;
      throw new EntryRefused(`entry ${entry.id} has no value for the RDN attribute ${rule.rdnAttribute}`);
    }
    return `${rule.rdnAttribute}=${escapeDnValue(textOf(value))},${rule.parentDn}`;
  }
}

/** A record the sink refuses before asking the server (no DN can be made for it). */
class EntryRefused extends Error {
  override readonly name = 'EntryRefused';
}

function storeKey(id: string): string {
  return `dn:${id}`;
}

function keyDn(entry: Entry): string | undefined {
  return entry.keys.find((key) => key.scheme === DN_KEY)?.value;
}

async function read(client: LdapClient, dn: string): Promise<LdapEntry | undefined> {
  let found: LdapEntry | undefined;
  try {
    for await (const entry of client.search({ base: dn, scope: 'base', filter: '(objectClass=*)', attributes: ['*'] })) found ??= entry;
  } catch (error) {
    if (error instanceof LdapResultError && error.resultCode === NO_SUCH_OBJECT) return undefined;
    throw error;
  }
  return found;
}

function valuesOf(field: Field): Buffer[] {
  return (field.values as readonly unknown[]).map((value) => (value instanceof Uint8Array ? Buffer.from(value) : Buffer.from(textOf(value))));
}

function textOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  if (typeof value === 'bigint' || typeof value === 'number') return String(value);
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  return JSON.stringify(value);
}

/** Modifications turning `from` into `to`: deletes and adds of single values; whole-attribute when one side is empty. */
export function valueDelta(type: string, from: readonly Buffer[], to: readonly Buffer[]): LdapModification[] {
  if (from.length === 0 || to.length === 0) return [{ operation: 'replace', type, values: [...to] }];
  const key = (value: Buffer): string => value.toString('base64');
  const wanted = new Set(to.map(key));
  const present = new Set(from.map(key));
  const removed = from.filter((value) => !wanted.has(key(value)));
  const added = to.filter((value) => !present.has(key(value)));
  return [
    ...(removed.length > 0 ? [{ operation: 'delete' as const, type, values: removed }] : []),
    ...(added.length > 0 ? [{ operation: 'add' as const, type, values: added }] : []),
  ];
}

function sameValues(a: readonly Buffer[], b: readonly Buffer[]): boolean {
  if (a.length !== b.length) return false;
  const sorted = (list: readonly Buffer[]): string[] => list.map((v) => v.toString('base64')).sort();
  const [x, y] = [sorted(a), sorted(b)];
  return x.every((value, i) => value === y[i]);
}
