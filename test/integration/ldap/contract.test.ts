import type { ObjectEntry } from '../../../src/plugin-api/index.js';
import { instantiate, objectEntry, sinkContract, sourceContract, stringFields } from '../../../src/testing/index.js';
import { ldapSink, ldapSource } from '../../../plugins/ldap/index.js';
import { LdapToolError } from '../../harness/slapd.js';
import { PEOPLE, parseLdif, sinkOptionsFor, sourceOptionsFor, startSlapd } from './ldap-fixture.js';

// One private slapd per test: it starts in well under a second and keeps tests independent.

sourceContract('ldap', {
  async setup() {
    const slapd = await startSlapd();
    const existing = new Set<string>();
    return {
      create: (context) => instantiate(ldapSource, sourceOptionsFor(slapd), context),
      async writeObject(id, fields) {
        const dn = `cn=${id},${PEOPLE}`;
        if (existing.has(id)) {
          await slapd.ldapmodify(`dn: ${dn}\nchangetype: modify\nreplace: description\ndescription: ${fields.note}\n`);
        } else {
          await slapd.ldapadd(`dn: ${dn}\nobjectClass: organizationalRole\ncn: ${id}\ndescription: ${fields.note}\n`);
          existing.add(id);
        }
      },
      async deleteObject(id) {
        await slapd.ldapdelete(`cn=${id},${PEOPLE}`);
        existing.delete(id);
      },
      idOf(change) {
        const dn = change.keys.find((key) => key.scheme === 'ldap-dn')?.value ?? '';
        return /^cn=([^,]+),/.exec(dn)?.[1];
      },
      teardown: () => slapd.stop(),
    };
  },
});

sinkContract('ldap', {
  async setup() {
    const slapd = await startSlapd();
    return {
      create: (context) =>
        instantiate(
          ldapSink,
          sinkOptionsFor(slapd, {
            dn: { rdnAttribute: 'cn', parentDn: PEOPLE },
            attributeMap: { name: 'cn', note: 'description' },
          }),
          context,
        ),
      adapt: (entry: ObjectEntry): ObjectEntry => ({
        ...entry,
        fields: [...entry.fields, ...stringFields({ objectClass: ['top', 'organizationalRole'] }, entry.csn)],
      }),
      async read(localKey) {
        try {
          const ldif = parseLdif(await slapd.ldapsearch(localKey, '(objectClass=*)', ['cn', 'description'], { scope: 'base' }));
          return { name: ldif.cn ?? [], note: ldif.description ?? [] };
        } catch (error) {
          if (error instanceof LdapToolError && error.exitCode === 32) return undefined;
          throw error;
        }
      },
      // inetOrgPerson needs sn: the server answers objectClassViolation (65).
      makeRefused: () =>
        objectEntry({ type: 'note', fields: { name: 'refused-entry', objectClass: ['top', 'inetOrgPerson'] } }),
      teardown: () => slapd.stop(),
    };
  },
});
