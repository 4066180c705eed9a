import { dbusSendCall, gdbusCall } from '../../test/integration/dbus/notes-app-process.js';
import type { DemoServices } from './demo-services.js';
import type { ExampleName } from './example-catalog.js';
import { allDocs, deleteDoc, editDoc, getDoc, putDoc, waitFor, withoutCredentials, type CouchDoc } from './foreign-clients.js';

/**
 * The scripted changes of each example: a real foreign client changes one application, then the
 * other application(s) are read, with real clients too, until the change has arrived. Each
 * arrival check is an assertion: a tour that returns has seen every change arrive.
 */

export interface TourOutput {
  /** One line of the demo's console output. */
  line(text: string): void;
}

/** What a step checks on the other side: a summary of what arrived, or undefined while it has not. */
interface Arrival {
  readonly where: string;
  check(): Promise<string | undefined>;
}

interface Step {
  readonly title: string;
  /** The command as a user would type it (passwords left out). */
  readonly shown: string;
  act(): Promise<void>;
  readonly arrivals: readonly Arrival[];
}

export interface TourOptions {
  /** How long one arrival may take before the tour fails. Default 60 s. */
  readonly timeoutMs?: number;
}

export async function runTour(name: ExampleName, services: DemoServices, out: TourOutput, options: TourOptions = {}): Promise<void> {
  const steps = tours[name](services);
  for (const [i, step] of steps.entries()) {
    out.line(`[${name}] ${i + 1}. ${step.title}`);
    for (const text of step.shown.split('\n')) out.line(`      ${text}`);
    const started = Date.now();
    await step.act();
    await Promise.all(
      step.arrivals.map(async (arrival) => {
        const what = await waitFor(`${arrival.where} (${name}, step ${i + 1})`, () => arrival.check(), options.timeoutMs);
        out.line(`   -> ${arrival.where}: ${what}  (${((Date.now() - started) / 1000).toFixed(1)} s)`);
      }),
    );
  }
}

const tours: Record<ExampleName, (services: DemoServices) => Step[]> = {
  'directory-to-cms': directoryToCms,
  'couch-multimaster': couchMultimaster,
  'dbus-notes': dbusNotes,
};

function env(services: DemoServices, name: string): string {
  const value = services.env[name];
  if (value === undefined) throw new Error(`${name} is not set: were the services started for this example?`);
  return value;
}

function directoryToCms(services: DemoServices): Step[] {
  const { slapd, couch } = services;
  if (!slapd) throw new Error('directory-to-cms needs slapd');
  const database = env(services, 'CMS_DATABASE');
  const dn = `cn=Ann Lee,ou=people,${slapd.suffix}`;
  const ldapTool = (tool: string): string => `${tool} -x -H ${slapd.url} -D ${slapd.admin.dn} -w "$LDAP_ADMIN_PASSWORD"`;
  const contact = async (): Promise<CouchDoc | undefined> => (await allDocs(couch.url, database)).find((doc) => doc['name'] === 'Ann Lee');
  const person = (): Promise<string> => slapd.ldapsearch(dn, '(objectClass=*)', [], { scope: 'base' }).catch(() => '');
  const addLdif = [`dn: ${dn}`, 'objectClass: inetOrgPerson', 'cn: Ann Lee', 'sn: Lee', 'givenName: Ann', 'mail: ann.lee@example.org', ''].join('\n');
  const modifyLdif = [`dn: ${dn}`, 'changetype: modify', 'replace: title', 'title: Engineer', ''].join('\n');
  return [
    {
      title: 'a person is added to the directory with ldapadd; she appears in the CMS as a contact',
      shown: `${ldapTool('ldapadd')} <<EOF\n${addLdif}EOF`,
      act: async () => void (await slapd.ldapadd(addLdif)),
      arrivals: [{ where: `CMS contact in CouchDB ${database}`, check: async () => describeDoc(await contact(), ['name', 'email']) }],
    },
    {
      title: 'her title is changed in the directory with ldapmodify',
      shown: `${ldapTool('ldapmodify')} <<EOF\n${modifyLdif}EOF`,
      act: async () => void (await slapd.ldapmodify(modifyLdif)),
      arrivals: [
        {
          where: 'CMS contact',
          check: async () => {
            const doc = await contact();
            return doc?.['jobTitle'] === 'Engineer' ? describeDoc(doc, ['name', 'jobTitle']) : undefined;
          },
        },
      ],
    },
    {
      title: 'the CMS edits the contact (an HTTP PUT of the document); the edit flows back to the directory',
      shown: `curl -X PUT -H 'Content-Type: application/json' ${withoutCredentials(couch.url)}/${database}/<id> -d '{..., "jobTitle": "Lead engineer", "phone": "+1 555 0100", "_rev": ...}'`,
      act: async () => {
        const doc = await contact();
        if (!doc) throw new Error('the contact is gone');
        await editDoc(couch.url, database, doc._id, { jobTitle: 'Lead engineer', phone: '+1 555 0100' });
      },
      arrivals: [
        {
          where: `LDAP entry ${dn} (ldapsearch)`,
          check: async () => {
            const ldif = await person();
            return /^title: Lead engineer$/m.test(ldif) && /^telephoneNumber: \+1 555 0100$/m.test(ldif)
              ? 'title: Lead engineer, telephoneNumber: +1 555 0100'
              : undefined;
          },
        },
      ],
    },
  ];
}

function couchMultimaster(services: DemoServices): Step[] {
  const sites = (['a', 'b', 'c'] as const).map((site) => ({
    site,
    url: env(services, `SITE_${site.toUpperCase()}_COUCHDB_URL`),
    database: env(services, `SITE_${site.toUpperCase()}_DATABASE`),
  }));
  const [a, b, c] = sites as [(typeof sites)[number], (typeof sites)[number], (typeof sites)[number]];
  const id = 'recipe-pancakes';
  const on = (site: typeof a, check: (doc: CouchDoc | undefined) => string | undefined): Arrival => ({
    where: `site ${site.site} (${site.database})`,
    check: async () => check(await getDoc(site.url, site.database, id)),
  });
  return [
    {
      title: 'a document is created on site a (curl PUT); it appears on sites b and c',
      shown: `curl -X PUT -H 'Content-Type: application/json' ${withoutCredentials(a.url)}/${a.database}/${id} -d '{"title": "Pancakes", "serves": 4}'`,
      act: async () => void (await putDoc(a.url, a.database, { _id: id, title: 'Pancakes', serves: 4 })),
      arrivals: [b, c].map((site) => on(site, (doc) => (doc?.['title'] === 'Pancakes' ? describeDoc(doc, ['title', 'serves']) : undefined))),
    },
    {
      title: 'site c edits it (curl PUT with its _rev); the edit reaches sites a and b',
      shown: `curl -X PUT -H 'Content-Type: application/json' ${withoutCredentials(c.url)}/${c.database}/${id} -d '{"title": "Pancakes", "serves": 6, "_rev": ...}'`,
      act: async () => void (await editDoc(c.url, c.database, id, { serves: 6 })),
      arrivals: [a, b].map((site) => on(site, (doc) => (doc?.['serves'] === 6 ? describeDoc(doc, ['title', 'serves']) : undefined))),
    },
    {
      title: 'site b deletes it (curl DELETE); it is deleted on sites a and c',
      shown: `curl -X DELETE "${withoutCredentials(b.url)}/${b.database}/${id}?rev=..."`,
      act: () => deleteDoc(b.url, b.database, id),
      arrivals: [a, c].map((site) => on(site, (doc) => (doc === undefined ? 'deleted' : undefined))),
    },
  ];
}

function dbusNotes(services: DemoServices): Step[] {
  const { dbus, couch } = services;
  if (!dbus) throw new Error('dbus-notes needs the D-Bus bus and the notes app');
  const database = env(services, 'MEMOS_DATABASE');
  const address = dbus.address;
  const id = 'groceries';
  const memo = async (): Promise<CouchDoc | undefined> => (await allDocs(couch.url, database)).find((doc) => doc['subject'] === 'Groceries');
  const note = (): Promise<string> => dbusSendCall(address, 'Get', `string:${id}`).catch(() => '');
  const dest = '--dest org.pubsync.Notes --object-path /org/pubsync/Notes';
  return [
    {
      title: 'a note is made in the D-Bus app (gdbus call ... Put); it appears in CouchDB as a memo',
      shown: `gdbus call --address "${address}" ${dest} --method org.pubsync.Notes.Put ${id} "{'title': <'Groceries'>, 'body': <'milk, eggs'>}"`,
      act: async () => void (await gdbusCall(address, 'Put', id, "{'title': <'Groceries'>, 'body': <'milk, eggs'>}")),
      arrivals: [{ where: `memo in CouchDB ${database}`, check: async () => describeDoc(await memo(), ['subject', 'text']) }],
    },
    {
      title: 'the memo is edited in CouchDB (curl PUT); the note changes in the app',
      shown: `curl -X PUT -H 'Content-Type: application/json' ${withoutCredentials(couch.url)}/${database}/<id> -d '{..., "text": "milk, eggs, bread", "_rev": ...}'`,
      act: async () => {
        const doc = await memo();
        if (!doc) throw new Error('the memo is gone');
        await editDoc(couch.url, database, doc._id, { text: 'milk, eggs, bread' });
      },
      arrivals: [
        {
          where: `note ${id} in the app (dbus-send ... Get)`,
          check: async () => ((await note()).includes('milk, eggs, bread') ? 'body: milk, eggs, bread' : undefined),
        },
      ],
    },
    {
      title: 'the note is deleted in the app (dbus-send ... Delete); the memo is deleted in CouchDB',
      shown: `dbus-send --bus="${address}" --print-reply --dest=org.pubsync.Notes /org/pubsync/Notes org.pubsync.Notes.Delete string:${id}`,
      act: async () => void (await dbusSendCall(address, 'Delete', `string:${id}`)),
      arrivals: [{ where: `memo in CouchDB ${database}`, check: async () => ((await memo()) === undefined ? 'deleted' : undefined) }],
    },
  ];
}

function describeDoc(doc: CouchDoc | undefined, fields: readonly string[]): string | undefined {
  if (!doc) return undefined;
  return fields.map((field) => `${field}: ${JSON.stringify(doc[field])}`).join(', ');
}
