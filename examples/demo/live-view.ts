import { gdbusCall } from '../../test/integration/dbus/notes-app-process.js';
import type { DemoServices } from './demo-services.js';
import type { ExampleName } from './example-catalog.js';
import { allDocs, type CouchDoc } from './foreign-clients.js';

/**
 * While the demo waits for Ctrl-C: every application is read again every 1.5 s with its own
 * client (ldapsearch, curl, gdbus) and what changed is printed, so a change made by hand in one
 * terminal shows up in the demo's as it reaches the other side. Polling, because it must see the
 * applications as their users do, not through pubsync.
 */

interface Watched {
  readonly label: string;
  /** Object id -> a one-line summary of its content. */
  read(): Promise<Map<string, string>>;
}

const POLL_MS = 1500;

export function startLiveView(names: readonly ExampleName[], services: DemoServices, line: (text: string) => void): { stop(): void } {
  const watched = names.flatMap((name) => watchedOf(name, services));
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const known = new Map<string, Map<string, string>>();
  const poll = async (): Promise<void> => {
    for (const app of watched) {
      const now = await app.read().catch(() => undefined);
      if (!now || stopped) continue;
      const before = known.get(app.label);
      known.set(app.label, now);
      if (!before) continue;
      for (const [id, summary] of now) {
        if (!before.has(id)) line(`[live] ${app.label}: + ${id}  ${summary}`);
        else if (before.get(id) !== summary) line(`[live] ${app.label}: ~ ${id}  ${summary}`);
      }
      for (const id of before.keys()) if (!now.has(id)) line(`[live] ${app.label}: - ${id}`);
    }
    if (!stopped) timer = setTimeout(() => void poll(), POLL_MS);
  };
  void poll();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

function watchedOf(name: ExampleName, services: DemoServices): Watched[] {
  const { env, couch, slapd, dbus } = services;
  const couchDb = (label: string, url: string, database: string): Watched => ({
    label: `${label} (CouchDB ${database})`,
    read: async () => new Map((await allDocs(url, database)).map((doc) => [doc._id, summarize(doc)])),
  });
  switch (name) {
    case 'directory-to-cms':
      return [
        ...(slapd
          ? [
              {
                label: `directory (LDAP ou=people,${slapd.suffix})`,
                read: async () => ldapPeople(await slapd.ldapsearch(`ou=people,${slapd.suffix}`, '(objectClass=inetOrgPerson)', ['cn', 'mail', 'title', 'telephoneNumber'])),
              },
            ]
          : []),
        couchDb('CMS', couch.url, env['CMS_DATABASE'] ?? ''),
      ];
    case 'couch-multimaster':
      return ['A', 'B', 'C'].map((site) => couchDb(`site ${site.toLowerCase()}`, env[`SITE_${site}_COUCHDB_URL`] ?? '', env[`SITE_${site}_DATABASE`] ?? ''));
    case 'dbus-notes':
      return [
        ...(dbus ? [{ label: 'notes app (D-Bus)', read: () => notes(dbus.address) }] : []),
        couchDb('memos', couch.url, env['MEMOS_DATABASE'] ?? ''),
      ];
  }
}

/** A document's own properties, without CouchDB's and pubsync's bookkeeping, and who wrote it. */
function summarize(doc: CouchDoc): string {
  const own = Object.fromEntries(Object.entries(doc).filter(([key]) => !key.startsWith('_') && key !== 'pubsync'));
  const meta = doc['pubsync'] as { writtenBy?: { jid?: string } } | undefined;
  return `${JSON.stringify(own)}${meta?.writtenBy ? '  (written by pubsync)' : ''}`;
}

function ldapPeople(ldif: string): Map<string, string> {
  const people = new Map<string, string>();
  for (const block of ldif.split(/\n\n+/)) {
    const lines = block.split('\n').filter((text) => text.includes(': '));
    const dn = lines.find((text) => text.startsWith('dn: '))?.slice(4);
    if (dn) people.set(dn, lines.filter((text) => !text.startsWith('dn: ')).join(', '));
  }
  return people;
}

async function notes(address: string): Promise<Map<string, string>> {
  const list = await gdbusCall(address, 'List');
  const ids = [...list.matchAll(/'([^']*)'/g)].map((match) => match[1] ?? '');
  const entries = await Promise.all(ids.map(async (id) => [id, await gdbusCall(address, 'Get', id).catch(() => '(gone)')] as const));
  return new Map(entries);
}
