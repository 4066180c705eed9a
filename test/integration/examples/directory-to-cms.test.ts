import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { allDocs, waitFor } from '../../../examples/demo/foreign-clients.js';
import { ExampleStack } from './example-stack.js';

/**
 * examples/directory-to-cms end to end: slapd, Prosody and the embedded CouchDB-protocol server,
 * the two daemons as `pubsync run` processes on examples/directory-to-cms/{directory,cms}.yaml,
 * OpenLDAP's own ldapadd/ldapmodify/ldapdelete/ldapsearch and curl as the applications' clients.
 */
describe('example directory-to-cms', { timeout: 300_000 }, () => {
  const stack = new ExampleStack('directory-to-cms');

  before(async () => {
    const { slapd } = await stack.startServices();
    // Already in the directory before pubsync starts: the first start publishes a snapshot.
    await slapd?.ldapadd(
      ['dn: cn=Bob Stone,ou=people,dc=example,dc=org', 'objectClass: inetOrgPerson', 'cn: Bob Stone', 'sn: Stone', 'mail: bob@example.org', ''].join('\n'),
    );
    await stack.startDaemons();
  });

  after(() => stack.stop());

  it('publishes the people already in the directory as contacts at the first start', async () => {
    const { couch, env } = stack.running;
    const bob = await waitFor('Bob Stone in the CMS', async () => (await allDocs(couch.url, env['CMS_DATABASE'] ?? '')).find((doc) => doc['name'] === 'Bob Stone'));
    assert.equal(bob['type'], 'contact');
    assert.equal(bob['lastName'], 'Stone');
    assert.equal(bob['email'], 'bob@example.org');
    assert.equal(bob['cn'], undefined, 'LDAP attribute names are mapped by the stylesheet, not copied');
  });

  it('runs the tour: ldapadd and ldapmodify reach the CMS, a curl PUT in the CMS reaches the directory', async () => {
    await stack.tour();
    const { slapd } = stack.running;
    const entry = await slapd?.ldapsearch('cn=Ann Lee,ou=people,dc=example,dc=org', '(objectClass=*)', ['modifiersName', 'title', 'mail'], { scope: 'base' });
    // The CMS edit was written by the sink's identity, whose writes the directory's source ignores.
    assert.match(entry ?? '', /^modifiersName: cn=replicator,dc=example,dc=org$/im);
    assert.match(entry ?? '', /^mail: ann\.lee@example\.org$/m, 'fields the CMS did not change are kept');
  });

  it('a person deleted with ldapdelete is deleted in the CMS', async () => {
    const { slapd, couch, env } = stack.running;
    await slapd?.ldapdelete('cn=Bob Stone,ou=people,dc=example,dc=org');
    await waitFor('Bob Stone gone from the CMS', async () =>
      (await allDocs(couch.url, env['CMS_DATABASE'] ?? '')).some((doc) => doc['name'] === 'Bob Stone') ? undefined : true,
    );
  });

  it('both daemons stop cleanly on SIGTERM and dead-lettered nothing', async () => {
    const codes = await stack.stopDaemons();
    assert.deepEqual(codes, { directory: 0, cms: 0 }, stack.logs());
    assert.deepEqual(stack.deadLetters('directory.db'), []);
    assert.deepEqual(stack.deadLetters('cms.db'), []);
  });
});
