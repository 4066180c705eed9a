import { LdapToolError, type SlapdInstance } from '../harness/slapd.js';
import type { MemorySink } from './memory-plugins.js';
import type { ReplicaApp } from './convergence-workload.js';

/** The memory application's global ids: the application names them, as one with its own UUIDs would. */
export function memoryGlobalId(key: string): string {
  const hex = Buffer.from(key).toString('hex').padStart(12, '0').slice(-12);
  return `urn:uuid:00000000-0000-4000-8000-${hex}`;
}

/**
 * The test-only memory application (a MemorySink whose feed is its source): every write, the
 * core's and the user's, shows in its change feed, as in a real application.
 */
export class MemoryApp implements ReplicaApp {
  constructor(readonly sink: MemorySink) {}

  knows(): Promise<boolean> {
    // The application names global ids itself, so a creation elsewhere is the same object.
    return Promise.resolve(true);
  }

  set(key: string, field: string, value: string): Promise<boolean> {
    this.sink.write(key, memoryGlobalId(key), 'note', { [field]: [value] });
    return Promise.resolve(true);
  }

  unset(key: string, field: string): Promise<{ removed: readonly string[] } | false> {
    const removed = this.sink.objects.get(key)?.fields[field] ?? [];
    if (removed.length === 0) return Promise.resolve(false);
    // The memory application keeps a removed field as an empty one; the comparison drops it.
    this.sink.write(key, memoryGlobalId(key), 'note', { [field]: [] });
    return Promise.resolve({ removed: removed.map(String) });
  }

  remove(key: string): Promise<boolean> {
    if (!this.sink.objects.has(key)) return Promise.resolve(false);
    this.sink.remove(key, memoryGlobalId(key), 'note');
    return Promise.resolve(true);
  }

  snapshot(): Promise<Map<string, Readonly<Record<string, readonly unknown[]>>>> {
    return Promise.resolve(new Map([...this.sink.objects].map(([key, object]) => [key, object.fields])));
  }
}

type Doc = Record<string, unknown> & { _id: string; _rev?: string };

/** Document properties that are not the object's fields (see plugins/couchdb/config.ts defaults). */
const RESERVED = new Set(['type', 'tags', 'pubsync']);

/**
 * A user of one CouchDB database, over plain HTTP: read-modify-write with the revision, retried on
 * 409 (the daemon's sink writes the same documents at the same time).
 */
export class CouchApp implements ReplicaApp {
  constructor(
    readonly url: string,
    readonly database: string,
    /** The properties a new document starts with (e.g. its type and name). */
    readonly template: (key: string) => Record<string, unknown> = () => ({}),
  ) {}

  async #request(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
    const response = await fetch(`${this.url}/${this.database}/${path}`, {
      method,
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const json = (await response.json()) as Record<string, unknown>;
    return { status: response.status, json };
  }

  /** The live document, 'deleted' for a deleted one, undefined for one never seen here. */
  async #get(key: string): Promise<Doc | 'deleted' | undefined> {
    const { status, json } = await this.#request('GET', encodeURIComponent(key));
    if (status === 200) return json as Doc;
    if (status === 404) return json['reason'] === 'deleted' ? 'deleted' : undefined;
    throw new Error(`GET ${key}: ${status} ${JSON.stringify(json)}`);
  }

  async #write(key: string, change: (doc: Doc | undefined) => Doc | undefined): Promise<boolean> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const current = await this.#get(key);
      const doc = typeof current === 'object' ? current : undefined;
      const next = change(doc);
      if (!next) return false;
      const { status, json } = await this.#request('PUT', encodeURIComponent(key), next);
      if (status === 201 || status === 200) return true;
      if (status !== 409) throw new Error(`PUT ${key}: ${status} ${JSON.stringify(json)}`);
    }
    throw new Error(`PUT ${key}: still conflicting after 50 attempts`);
  }

  async knows(key: string): Promise<boolean> {
    return (await this.#get(key)) !== undefined;
  }

  set(key: string, field: string, value: string): Promise<boolean> {
    return this.#write(key, (doc) => ({ ...(doc ?? { ...this.template(key), _id: key }), [field]: value }));
  }

  async unset(key: string, field: string): Promise<{ removed: readonly string[] } | false> {
    let removed: readonly string[] = [];
    const made = await this.#write(key, (doc) => {
      if (!doc || !(field in doc)) return undefined;
      removed = [String(doc[field])];
      const next = { ...doc };
      delete next[field];
      return next;
    });
    return made && { removed };
  }

  async remove(key: string): Promise<boolean> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const current = await this.#get(key);
      if (typeof current !== 'object') return false;
      const { status, json } = await this.#request('DELETE', `${encodeURIComponent(key)}?rev=${current._rev ?? ''}`);
      if (status === 200) return true;
      if (status !== 409) throw new Error(`DELETE ${key}: ${status} ${JSON.stringify(json)}`);
    }
    throw new Error(`DELETE ${key}: still conflicting after 50 attempts`);
  }

  async snapshot(): Promise<Map<string, Readonly<Record<string, readonly unknown[]>>>> {
    const { status, json } = await this.#request('GET', '_all_docs?include_docs=true');
    if (status !== 200) throw new Error(`_all_docs: ${status}`);
    const rows = (json['rows'] ?? []) as { id: string; doc?: Doc }[];
    const out = new Map<string, Readonly<Record<string, readonly unknown[]>>>();
    for (const row of rows) {
      if (!row.doc || row.id.startsWith('_design/')) continue;
      const fields: Record<string, readonly unknown[]> = {};
      for (const [name, value] of Object.entries(row.doc)) {
        if (name.startsWith('_') || RESERVED.has(name)) continue;
        // One property is one field of one value, as the couchdb source reads it (an array is a JSON value).
        fields[name] = [value];
      }
      out.set(row.id, fields);
    }
    return out;
  }
}

/**
 * A user of the LDAP directory with OpenLDAP's own tools (ldapmodify, ldapdelete, ldapsearch) as
 * the directory manager: entries cn=<key> under `parentDn`, compared in the vocabulary `fieldOf`
 * maps attributes to (unmapped attributes are left out). It never creates entries: a re-created
 * entry would get a new entryUUID, so objects come from the other replicas.
 */
export class LdapApp implements ReplicaApp {
  constructor(
    readonly slapd: SlapdInstance,
    readonly parentDn: string,
    /** Attribute of a compared field. */
    readonly attributeOf: (field: string) => string,
    /** Compared field of an attribute; undefined leaves the attribute out. */
    readonly fieldOf: (attribute: string) => string | undefined,
  ) {}

  #dn(key: string): string {
    return `cn=${key},${this.parentDn}`;
  }

  async #entry(key: string): Promise<Record<string, string[]> | undefined> {
    try {
      const text = await this.slapd.ldapsearch(this.#dn(key), '(objectClass=*)', [], { scope: 'base' });
      return parseEntries(text)[0];
    } catch (error) {
      if (error instanceof LdapToolError && error.exitCode === 32) return undefined;
      throw error;
    }
  }

  /** Runs a modification; false when the entry or the attribute is not there (32, 16). */
  async #modify(ldif: string): Promise<boolean> {
    try {
      await this.slapd.ldapmodify(ldif);
      return true;
    } catch (error) {
      if (error instanceof LdapToolError && (error.exitCode === 32 || error.exitCode === 16)) return false;
      throw error;
    }
  }

  async knows(key: string): Promise<boolean> {
    return (await this.#entry(key)) !== undefined;
  }

  set(key: string, field: string, value: string): Promise<boolean> {
    const attribute = this.attributeOf(field);
    return this.#modify(`dn: ${this.#dn(key)}\nchangetype: modify\nreplace: ${attribute}\n${attribute}: ${value}\n`);
  }

  async unset(key: string, field: string): Promise<{ removed: readonly string[] } | false> {
    const attribute = this.attributeOf(field);
    const entry = await this.#entry(key);
    const held = Object.entries(entry ?? {}).find(([name]) => name.toLowerCase() === attribute.toLowerCase())?.[1] ?? [];
    if (held.length === 0) return false;
    // The values read are the ones deleted (the server refuses with 16 when one is gone since):
    // what was removed is known, as the check needs.
    const values = held.map((value) => `${attribute}: ${value}\n`).join('');
    return (await this.#modify(`dn: ${this.#dn(key)}\nchangetype: modify\ndelete: ${attribute}\n${values}`)) && { removed: held };
  }

  async remove(key: string): Promise<boolean> {
    try {
      await this.slapd.ldapdelete(this.#dn(key));
      return true;
    } catch (error) {
      if (error instanceof LdapToolError && error.exitCode === 32) return false;
      throw error;
    }
  }

  async snapshot(): Promise<Map<string, Readonly<Record<string, readonly unknown[]>>>> {
    const text = await this.slapd.ldapsearch(this.parentDn, '(objectClass=inetOrgPerson)', [], { scope: 'one' });
    const out = new Map<string, Readonly<Record<string, readonly unknown[]>>>();
    for (const entry of parseEntries(text)) {
      const key = entry['cn']?.[0];
      if (key === undefined) continue;
      const fields: Record<string, readonly string[]> = {};
      for (const [attribute, values] of Object.entries(entry)) {
        const field = this.fieldOf(attribute);
        if (field !== undefined) fields[field] = values;
      }
      out.set(key, fields);
    }
    return out;
  }
}

/** ldapsearch -LLL output (unwrapped) to one attribute map per entry; the dn line is left out. */
function parseEntries(text: string): Record<string, string[]>[] {
  return text
    .split(/\n\s*\n/)
    .filter((block) => block.trim().length > 0)
    .map((block) => {
      const out: Record<string, string[]> = {};
      for (const line of block.split('\n')) {
        const match = /^([^:\s]+)(::?) ?(.*)$/.exec(line);
        if (!match || match[1] === 'dn') continue;
        const [, name = '', colons, value = ''] = match;
        (out[name] ??= []).push(colons === '::' ? Buffer.from(value, 'base64').toString('utf8') : value);
      }
      return out;
    });
}
