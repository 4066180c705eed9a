import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startCouchDb, type CouchDb } from '../../harness/couchdb.js';
import { startProsody, type ProsodyServer } from '../../harness/prosody.js';
import { startSlapd, type SlapdInstance } from '../../harness/slapd.js';
import { CouchApp, LdapApp } from '../../support/convergence-apps.js';
import { couchMember, MESH_NAMES, startMesh, type MemberSpec, type MeshReplica } from '../../support/convergence-mesh.js';
import { runTimeoutMs, type Revision } from '../../support/convergence-model.js';
import { proveConvergence } from '../../support/convergence-run.js';
import type { ReplicaApp } from '../../support/convergence-workload.js';

/** Changes per run in CI; PUBSYNC_CONVERGENCE_OPS makes a longer run. */
const OPS = 240;

const PEOPLE = 'ou=people,dc=example,dc=org';
const TO_CONTACT = fileURLToPath(new URL('../../../transforms/ldap-person-to-contact.xsl', import.meta.url));
const TO_PERSON = fileURLToPath(new URL('../../../transforms/contact-to-ldap-person.xsl', import.meta.url));

/**
 * The comparison vocabulary is the contact's: the shipped stylesheets map these attributes 1:1
 * (transforms/ldap-person-to-contact.xsl and contact-to-ldap-person.xsl); every other attribute
 * (objectClass, and the operational ones) is left out of the comparison on every side. name (cn)
 * and lastName (sn) are the object's identity, never changed by the workload, and left out too:
 * an entry cannot lack them (cn names it, sn is required), while the model drops every field
 * older than a delete that lost to a concurrent edit. Compared: email, phone, jobTitle.
 */
const ATTRIBUTE_OF: Readonly<Record<string, string>> = {
  name: 'cn',
  firstName: 'givenName',
  lastName: 'sn',
  email: 'mail',
  phone: 'telephoneNumber',
  jobTitle: 'title',
  department: 'ou',
};
const FIELD_OF = new Map(Object.entries(ATTRIBUTE_OF).map(([field, attribute]) => [attribute.toLowerCase(), field]));
const LDAP = 0;

/** An LDAP revision in the contact vocabulary (what the couch replicas' transform makes of it). */
function asContact(revision: Revision): Revision {
  if (revision.origin !== LDAP + 1) return revision;
  const fields = revision.fields.flatMap((f) => {
    const name = FIELD_OF.get(f.name.toLowerCase());
    return name === undefined ? [] : [{ ...f, name }];
  });
  return { ...revision, fields };
}

/**
 * The object's name, the same in every replica: its name (cn) field, else its CouchDB _id (every
 * object is created in a CouchDB replica with name = _id), else the cn of its DN.
 */
function keyOf(history: readonly Revision[]): string | undefined {
  for (const revision of history) {
    const name = revision.fields.find((f) => f.name === 'name' || f.name.toLowerCase() === 'cn')?.values[0];
    if (name !== undefined) return name;
  }
  for (const revision of history) {
    const id = revision.keys.find((k) => k.scheme === 'couchdb-id')?.value;
    if (id !== undefined) return id;
  }
  for (const revision of history) {
    const dn = revision.keys.find((k) => k.scheme === 'ldap-dn')?.value;
    const cn = dn === undefined ? undefined : /^cn=([^,]+),/i.exec(dn)?.[1];
    if (cn !== undefined) return cn;
  }
  return undefined;
}

/**
 * Set 2, mixed: one LDAP replica (slapd with accesslog + syncprov, the ldap source and sink; the
 * sink names the source and binds as the replicator) and two CouchDB replicas, through a real
 * Prosody. What goes between LDAP and CouchDB passes the shipped stylesheets; CouchDB to CouchDB
 * is identity. Objects are created in CouchDB (type contact, name = lastName = _id, so that the
 * entry's DN cn=<_id> and its required sn are the same everywhere); the directory's users change
 * and delete them with ldapmodify and ldapdelete, the CouchDB users over HTTP.
 */
describe('convergence: one LDAP and two CouchDB replicas', { timeout: runTimeoutMs(OPS) }, () => {
  let prosody: ProsodyServer;
  let couch: CouchDb;
  let slapd: SlapdInstance;
  let replicas: MeshReplica[] = [];
  const apps: ReplicaApp[] = [];

  before(async () => {
    [prosody, couch, slapd] = await Promise.all([startProsody({ admins: MESH_NAMES.map((n) => `${n}@localhost`) }), startCouchDb(), startSlapd()]);
    const specs: MemberSpec[] = [];
    apps.push(new LdapApp(slapd, PEOPLE, (field) => ATTRIBUTE_OF[field] ?? field, (attribute) => FIELD_OF.get(attribute.toLowerCase())));
    specs.push({
      sources: [
        {
          name: 'ldap',
          plugin: 'ldap',
          options: {
            url: slapd.url,
            bindDn: slapd.syncreader.dn,
            password: slapd.syncreader.password,
            base: PEOPLE,
            filter: '(objectClass=inetOrgPerson)',
            replicatorDn: slapd.replicator.dn,
          },
        },
      ],
      sinks: [
        {
          name: 'ldap',
          plugin: 'ldap',
          source: 'ldap',
          options: { url: slapd.url, bindDn: slapd.replicator.dn, password: slapd.replicator.password, dn: { rdnAttribute: 'cn', parentDn: PEOPLE } },
        },
      ],
      sink: 'ldap',
      transformFrom: () => ({ stylesheet: TO_PERSON }),
    });
    for (const name of MESH_NAMES.slice(1)) {
      const database = await couch.createDatabase(`mixed-${name}`);
      apps.push(new CouchApp(couch.url, database, (key) => ({ type: 'contact', name: key, lastName: key })));
      specs.push(couchMember(couch.url, database, { transformFrom: (peer) => (peer === LDAP ? { stylesheet: TO_CONTACT } : undefined) }));
    }
    replicas = await startMesh(prosody, specs);
  });

  after(async () => {
    for (const replica of replicas) await replica.dispose();
    await Promise.all([prosody?.stop(), couch?.stop(), slapd?.stop()]);
  });

  it('ends with the directory and both databases equal to the model, field by field', { timeout: runTimeoutMs(OPS) }, async (t) => {
    await proveConvergence(t, {
      replicas,
      apps,
      ops: OPS,
      fields: ['email', 'phone', 'jobTitle'],
      creators: [1, 2],
      translate: asContact,
      compared: (field) => field !== 'name' && field !== 'lastName',
      keyAt: (_, object) => keyOf(object.history),
      journalKey: (_, history) => keyOf(history),
      fieldAt: (replica, field) => (replica === LDAP ? (ATTRIBUTE_OF[field] ?? field) : field),
    });
  });
});
