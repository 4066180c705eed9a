import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ABSENT_PART, partHash, type ApplyOutcome, type ObjectEntry, type Sink } from '../../../src/plugin-api/index.js';
import { createTestContext, instantiate, objectEntry, reviseEntry, tombstoneOf } from '../../../src/testing/index.js';
import { ldapSink } from '../../../plugins/ldap/index.js';
import { PEOPLE, parseLdif, sinkOptionsFor, startSlapd, type SlapdInstance } from './ldap-fixture.js';

const signal = new AbortController().signal;

function posixEntry(dn: string): ObjectEntry {
  return objectEntry({
    type: 'account',
    keys: [{ scheme: 'ldap-dn', value: dn }],
    fields: {
      objectClass: ['account', 'posixAccount'],
      uid: 'jdoe',
      cn: 'John Doe',
      uidNumber: '1000',
      gidNumber: '1000',
      homeDirectory: '/home/jdoe',
    },
  });
}

/** The user modifications of the modify records of `dn` in the server's accesslog. */
async function loggedMods(ldap: SlapdInstance, dn: string): Promise<string[]> {
  const log = await ldap.ldapsearch(ldap.accesslogSuffix, `(&(reqType=modify)(reqDN=${dn}))`, ['reqMod'], { scope: 'one' });
  return log
    .split('\n')
    .filter((line) => line.startsWith('reqMod: '))
    .map((line) => line.slice('reqMod: '.length))
    .filter((mod) => !/^(entryCSN|modifiersName|modifyTimestamp):/.test(mod));
}

function localKey(outcome: ApplyOutcome | undefined): string {
  assert.equal(outcome?.status, 'applied', JSON.stringify(outcome));
  return outcome.localKey;
}

describe('ldap sink against a real slapd', () => {
  const instances: SlapdInstance[] = [];
  const sinks: Sink[] = [];
  after(async () => {
    for (const sink of sinks) await sink.close?.();
    await Promise.all(instances.map((s) => s.stop()));
  });
  async function setup(options: Record<string, unknown> = {}): Promise<{ ldap: SlapdInstance; sink: Sink }> {
    const ldap = await startSlapd();
    instances.push(ldap);
    const sink = await instantiate(ldapSink, sinkOptionsFor(ldap, options), createTestContext({ kind: 'sink' }));
    sinks.push(sink);
    return { ldap, sink };
  }

  it('writes only the fields it is told to, and only attributes whose values differ', async () => {
    const { ldap, sink } = await setup();
    const dn = `cn=Minimal,${PEOPLE}`;
    const entry = objectEntry({
      type: 'organizationalRole',
      keys: [{ scheme: 'ldap-dn', value: dn }],
      fields: { objectClass: 'organizationalRole', cn: 'Minimal', description: 'one', l: 'Paris' },
    });
    const key = localKey((await sink.apply([{ entry, fields: entry.fields.map((f) => f.name) }], signal))[0]);
    assert.equal(key, dn);
    // The entry now differs in l too, but the merge only let description through.
    const revised = reviseEntry(entry, { description: 'two', l: 'Berlin' });
    localKey((await sink.apply([{ entry: revised, fields: ['description', 'cn'], localKey: key }], signal))[0]);
    const state = parseLdif(await ldap.ldapsearch(dn, '(objectClass=*)', ['description', 'l'], { scope: 'base' }));
    assert.deepEqual(state, { dn: [dn], description: ['two'], l: ['Paris'] });
    // The log shows one modify touching description alone (cn was unchanged: not sent), value by value.
    assert.deepEqual(await loggedMods(ldap, dn), ['description:- one', 'description:+ two']);
  });

  it('changes a multi-valued attribute value by value, not by rewriting it', async () => {
    const { ldap, sink } = await setup();
    const dn = `cn=Crew,ou=groups,dc=example,dc=org`;
    const member = (cn: string): string => `cn=${cn},${PEOPLE}`;
    const entry = objectEntry({
      type: 'groupOfNames',
      keys: [{ scheme: 'ldap-dn', value: dn }],
      fields: { objectClass: 'groupOfNames', cn: 'Crew', member: [member('a'), member('b'), member('c')] },
    });
    const key = localKey((await sink.apply([{ entry, fields: entry.fields.map((f) => f.name) }], signal))[0]);
    const revised = reviseEntry(entry, { member: [member('a'), member('c'), member('d')] });
    localKey((await sink.apply([{ entry: revised, fields: ['member'], localKey: key }], signal))[0]);
    assert.deepEqual(await loggedMods(ldap, dn), [`member:- ${member('b')}`, `member:+ ${member('d')}`]);
    const state = parseLdif(await ldap.ldapsearch(dn, '(objectClass=*)', ['member'], { scope: 'base' }));
    assert.deepEqual(state.member?.sort(), [member('a'), member('c'), member('d')]);
  });

  it("re-cases values, and rejects two values the server's matching rule holds equal", async () => {
    const { ldap, sink } = await setup();
    const dn = `cn=Case,${PEOPLE}`;
    const entry = objectEntry({
      type: 'organizationalRole',
      keys: [{ scheme: 'ldap-dn', value: dn }],
      fields: { objectClass: 'organizationalRole', cn: 'Case', ou: ['Sales', 'Ops'] },
    });
    const key = localKey((await sink.apply([{ entry, fields: entry.fields.map((f) => f.name) }], signal))[0]);
    // Adding "OPS" while "Ops" stays is a duplicate to caseIgnoreMatch (attributeOrValueExists).
    const revised = reviseEntry(entry, { ou: ['Ops', 'OPS'] });
    const [outcome] = await sink.apply([{ entry: revised, fields: ['ou'], localKey: key }], signal);
    assert.equal(outcome?.status, 'rejected', 'two values equal to the server cannot both be stored');
    const recased = reviseEntry(entry, { ou: ['SALES', 'Ops'] });
    localKey((await sink.apply([{ entry: recased, fields: ['ou'], localKey: key }], signal))[0]);
    const state = parseLdif(await ldap.ldapsearch(dn, '(objectClass=*)', ['ou'], { scope: 'base' }));
    assert.deepEqual(state.ou?.sort(), ['Ops', 'SALES']);
  });

  it('renames keeping the old RDN value when configured, where deleting it would violate the schema', async () => {
    const keep = await setup({ deleteOldRdn: false });
    const drop = await setup({ deleteOldRdn: true });
    const from = `uid=jdoe,${PEOPLE}`;
    const to = `cn=John Doe,${PEOPLE}`;
    for (const { sink } of [keep, drop]) {
      const entry = posixEntry(from);
      const key = localKey((await sink.apply([{ entry, fields: entry.fields.map((f) => f.name) }], signal))[0]);
      const renamed = { ...reviseEntry(entry, {}), keys: [{ scheme: 'ldap-dn', value: to }] };
      const [outcome] = await sink.apply([{ entry: renamed, fields: [], localKey: key }], signal);
      if (sink === keep.sink) {
        assert.equal(localKey(outcome), to);
        const state = parseLdif(await keep.ldap.ldapsearch(to, '(objectClass=*)', ['uid', 'cn'], { scope: 'base' }));
        assert.deepEqual(state.uid, ['jdoe'], 'the old RDN value was kept');
      } else {
        assert.equal(outcome?.status, 'rejected');
        assert.equal(outcome.code, 'PUBSYNC_ERR_LDAP_REJECTED');
        assert.equal(outcome.details?.ldapResultCode, 65, outcome.reason);
      }
    }
  });

  it('keeps an entry named and valid when a delete it outlived removed its naming and required attributes', async () => {
    const { ldap, sink } = await setup({ dn: { rdnAttribute: 'cn', parentDn: PEOPLE } });
    const person = objectEntry({
      type: 'inetOrgPerson',
      fields: { objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'], cn: 'Ann', sn: 'Ann', mail: 'ann@example.org' },
    });
    const key = localKey((await sink.apply([{ entry: person, fields: person.fields.map((f) => f.name) }], signal))[0]);
    const named = (names: string[]): ObjectEntry['fields'] => person.fields.filter((f) => names.includes(f.name));
    const gone = named(['cn', 'sn', 'mail']);
    // A delete concurrent with an edit: the entry lives on with the edit, without the older fields.
    const edit = reviseEntry({ ...person, fields: named(['objectClass']) }, { telephoneNumber: '555' });
    localKey((await sink.apply([{ entry: edit, fields: ['cn', 'sn', 'mail', 'telephoneNumber'], localKey: key, removeOnly: true }], signal))[0]);
    const kept = parseLdif(await ldap.ldapsearch(key, '(objectClass=*)', ['cn', 'sn', 'mail'], { scope: 'base' }));
    assert.deepEqual(kept, { dn: [key], cn: ['Ann'], sn: ['Ann'] }, 'mail goes; the name and the required sn stay');

    // The delete reached this directory first: the entry is re-created from the edit, named and valid.
    // Even its object classes may be older than the delete.
    localKey((await sink.apply([{ entry: tombstoneOf(person), fields: [], localKey: key }], signal))[0]);
    const phoneOnly = { ...edit, fields: edit.fields.filter((f) => f.name === 'telephoneNumber') };
    const [outcome] = await sink.apply([{ entry: phoneOnly, fields: ['telephoneNumber'], localKey: key, outlived: [...gone, ...named(['objectClass'])] }], signal);
    assert.equal(localKey(outcome), key);
    const revived = parseLdif(await ldap.ldapsearch(key, '(objectClass=inetOrgPerson)', ['cn', 'sn', 'mail', 'telephoneNumber'], { scope: 'base' }));
    assert.deepEqual(revived, { dn: [key], cn: ['Ann'], sn: ['Ann'], telephoneNumber: ['555'] }, 'no mail: the delete removed it');
  });

  it('leaves an attribute a directory user changed since the core saw it, and writes the others', async () => {
    const { ldap, sink } = await setup({ dn: { rdnAttribute: 'cn', parentDn: PEOPLE } });
    const person = objectEntry({
      type: 'inetOrgPerson',
      fields: { objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'], cn: 'Cy', sn: 'Cy', title: 'Cook', mail: 'cy@example.org' },
    });
    const key = localKey((await sink.apply([{ entry: person, fields: person.fields.map((f) => f.name) }], signal))[0]);
    const expected = Object.fromEntries(person.fields.map((f) => [f.name, partHash(f)]));
    await ldap.ldapmodify(`dn: ${key}\nchangetype: modify\nreplace: title\ntitle: Chef\n`);
    const peer = reviseEntry(person, { title: 'Baker', mail: 'cy@peer.example.org' });
    const [outcome] = await sink.apply([{ entry: peer, fields: ['title', 'mail'], localKey: key, expected }], signal);
    assert.deepEqual(outcome, { status: 'applied', localKey: key, left: ['title'] }, 'the core learns what stays');
    const state = parseLdif(await ldap.ldapsearch(key, '(objectClass=*)', ['title', 'mail'], { scope: 'base' }));
    assert.deepEqual(state, { dn: [key], title: ['Chef'], mail: ['cy@peer.example.org'] }, "the user's title stays until captured; mail is written");
  });

  it('does not delete an entry changed in the directory since the core saw it: only what the core saw goes', async () => {
    const { ldap, sink } = await setup({ dn: { rdnAttribute: 'cn', parentDn: PEOPLE } });
    const person = objectEntry({
      type: 'inetOrgPerson',
      fields: { objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'], cn: 'Bea', sn: 'Bea', mail: 'bea@example.org', title: 'Cook' },
    });
    const key = localKey((await sink.apply([{ entry: person, fields: person.fields.map((f) => f.name) }], signal))[0]);
    const expected = Object.fromEntries(person.fields.map((f) => [f.name, partHash(f)]));
    // A directory user changes the title; a peer's delete arrives before the source reported it.
    await ldap.ldapmodify(`dn: ${key}
changetype: modify
replace: title
title: Chef
`);
    const [partial] = await sink.apply([{ entry: tombstoneOf(person), fields: [], localKey: key, expected }], signal);
    assert.deepEqual(partial, { status: 'applied', localKey: key, left: ['title'] }, 'the core learns the entry lives on');
    const kept = parseLdif(await ldap.ldapsearch(key, '(objectClass=*)', ['cn', 'sn', 'mail', 'title'], { scope: 'base' }));
    assert.deepEqual(kept, { dn: [key], cn: ['Bea'], sn: ['Bea'], title: ['Chef'] }, "the user's change stays, with the entry's name");
    // Unchanged since: the delete deletes.
    const now = Object.fromEntries(Object.entries(expected).map(([name, hash]) => [name, name === 'title' ? partHash({ name, type: 'string', values: ['Chef'] }) : name === 'mail' ? ABSENT_PART : hash]));
    localKey((await sink.apply([{ entry: tombstoneOf(person), fields: [], localKey: key, expected: now }], signal))[0]);
    await assert.rejects(ldap.ldapsearch(key, '(objectClass=*)', ['cn'], { scope: 'base' }), /No such object|32/);
  });

  it('does not delete an entry that gained an attribute the core never saw', async () => {
    const { ldap, sink } = await setup({ dn: { rdnAttribute: 'cn', parentDn: PEOPLE } });
    const person = objectEntry({
      type: 'inetOrgPerson',
      fields: { objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'], cn: 'Dee', sn: 'Dee', mail: 'dee@example.org' },
    });
    const key = localKey((await sink.apply([{ entry: person, fields: person.fields.map((f) => f.name) }], signal))[0]);
    const expected = Object.fromEntries(person.fields.map((f) => [f.name, partHash(f)]));
    await ldap.ldapmodify(`dn: ${key}\nchangetype: modify\nadd: telephoneNumber\ntelephoneNumber: 555\n`);
    const [outcome] = await sink.apply([{ entry: tombstoneOf(person), fields: [], localKey: key, expected }], signal);
    assert.deepEqual(outcome, { status: 'applied', localKey: key, left: ['telephoneNumber'] });
    const kept = parseLdif(await ldap.ldapsearch(key, '(objectClass=*)', ['cn', 'sn', 'mail', 'telephoneNumber'], { scope: 'base' }));
    assert.deepEqual(kept, { dn: [key], cn: ['Dee'], sn: ['Dee'], telephoneNumber: ['555'] }, 'the new value stays, with what names the entry');
  });

  it('rejects an entry it cannot name, and one whose parent is missing, and goes on', async () => {
    const { ldap, sink } = await setup({ dn: { rdnAttribute: 'cn', parentDn: `ou=nowhere,${PEOPLE}` } });
    const unnamed = objectEntry({ type: 'organizationalRole', fields: { objectClass: 'organizationalRole' } });
    const orphan = objectEntry({ type: 'organizationalRole', fields: { objectClass: 'organizationalRole', cn: 'Orphan' } });
    const outcomes = await sink.apply(
      [unnamed, orphan].map((entry) => ({ entry, fields: entry.fields.map((f) => f.name) })),
      signal,
    );
    assert.equal(outcomes[0]?.status, 'rejected');
    assert.match(outcomes[0].reason, /no value for the RDN attribute cn/);
    assert.equal(outcomes[1]?.status, 'rejected');
    assert.equal(outcomes[1].details?.ldapResultCode, 32);
    assert.match(outcomes[1].reason, /noSuchObject/);
    assert.equal(await ldap.ldapsearch(PEOPLE, '(cn=Orphan)', ['cn']), '');
  });

  it('reconnects after the server restarted between two batches', async () => {
    const { ldap, sink } = await setup();
    const entry = objectEntry({
      type: 'organizationalRole',
      keys: [{ scheme: 'ldap-dn', value: `cn=Restart,${PEOPLE}` }],
      fields: { objectClass: 'organizationalRole', cn: 'Restart', description: 'before' },
    });
    const key = localKey((await sink.apply([{ entry, fields: entry.fields.map((f) => f.name) }], signal))[0]);
    await ldap.restart();
    const revised = reviseEntry(entry, { description: 'after' });
    localKey((await sink.apply([{ entry: revised, fields: ['description'], localKey: key }], signal))[0]);
    const state = parseLdif(await ldap.ldapsearch(key, '(objectClass=*)', ['description'], { scope: 'base' }));
    assert.deepEqual(state.description, ['after']);
  });

  it('reports a refused bind as a connection error, not as rejected entries', async () => {
    const ldap = await startSlapd();
    instances.push(ldap);
    const sink = await instantiate(
      ldapSink,
      { ...sinkOptionsFor(ldap), password: 'wrong' },
      createTestContext({ kind: 'sink' }),
    );
    const entry = objectEntry({ fields: { cn: 'x' } });
    await assert.rejects(sink.apply([{ entry, fields: ['cn'] }], signal), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'PUBSYNC_ERR_LDAP_UNAVAILABLE');
      assert.match(error.message, /refused: 49 invalidCredentials/);
      assert.doesNotMatch(error.message, /wrong/);
      return true;
    });
    await sink.close?.();
  });
});
