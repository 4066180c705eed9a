import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { BatchCollector, createTestContext, instantiate } from '../../../src/testing/index.js';
import { PEOPLE, sinkOptionsFor, sourceOptionsFor, startSlapd, type SlapdInstance } from './ldap-fixture.js';
import { ldapSink, ldapSource } from '../../../plugins/ldap/index.js';
import { Relay } from '../../support/relay.js';

const GROUPS = 'ou=groups,dc=example,dc=org';
const PHOTO = Buffer.from([0x00, 0x80, 0xff, 0xfe, 0x0a, 0xc3, 0x28, 0x7f]);

/** ldapsearch -LLL of the published subtrees, normalized: entries and their lines sorted. */
async function tree(slapd: SlapdInstance): Promise<string> {
  const entries: string[] = [];
  for (const base of [PEOPLE, GROUPS]) {
    const out = await slapd.ldapsearch(base, '(objectClass=*)', ['*']);
    for (const block of out.split(/\n\n+/).filter((b) => b.trim() !== '')) {
      const [dn = '', ...lines] = block.trim().split('\n');
      entries.push([dn, ...lines.sort()].join('\n'));
    }
  }
  return entries.sort().join('\n\n');
}

describe('ldap round trip: slapd A -> source -> core -> sink -> slapd B', () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('copies every operation and value type, across restarts, and never echoes the replicator', async () => {
    const a = await startSlapd();
    const b = await startSlapd();
    cleanups.push(() => a.stop(), () => b.stop());
    // B's own capture, as daemon B would run it: the sink's writes must not show up there.
    const echoController = new AbortController();
    const echoSource = await instantiate(
      ldapSource,
      sourceOptionsFor(b, { initial: 'now' }),
      createTestContext({ signal: echoController.signal }),
    );
    const echoes = new BatchCollector(echoSource.start(undefined, echoController.signal));
    await echoes.waitFor('B capture to be live', (batches) => (batches.length > 0 ? true : undefined), 10_000);
    cleanups.push(async () => {
      echoController.abort();
      await echoes.ended(10_000);
      await echoSource.close?.();
    });

    await a.ldapadd(
      [
        `dn: cn=Ada,${PEOPLE}`,
        'objectClass: inetOrgPerson',
        'cn: Ada',
        'sn: Lovelace',
        'telephoneNumber: +1 555 0100',
        'telephoneNumber: +1 555 0101',
        'title: Analyst',
        `description:: ${Buffer.from('two\nlines').toString('base64')}`,
        `jpegPhoto:: ${PHOTO.toString('base64')}`,
        '',
      ].join('\n'),
    );
    const relay = new Relay({
      source: { definition: ldapSource, options: sourceOptionsFor(a, { initial: 'snapshot' }) },
      sink: { definition: ldapSink, options: sinkOptionsFor(b) },
    });
    cleanups.push(() => relay.close());
    await relay.startSource();
    const same = async (): Promise<boolean> => (await tree(a)) === (await tree(b));
    await relay.until('B to hold the snapshot of A', same);

    await a.ldapadd(
      [`dn: cn=Crew,${GROUPS}`, 'objectClass: groupOfNames', 'cn: Crew', `member: cn=Ada,${PEOPLE}`, ''].join('\n'),
    );
    await a.ldapmodify(
      [
        `dn: cn=Ada,${PEOPLE}`,
        'changetype: modify',
        'add: mail',
        'mail: ada@example.org',
        '-',
        'delete: telephoneNumber',
        'telephoneNumber: +1 555 0100',
        '-',
        'replace: title',
        'title: Countess',
        '-',
        '',
      ].join('\n'),
    );
    await relay.until('B to hold the add and the modify', same);

    // Daemon and slapd A restart mid-stream; what happens meanwhile must still arrive.
    await relay.stopSource();
    await a.restart();
    await a.ldapmodrdn(`cn=Ada,${PEOPLE}`, 'cn=Augusta', { deleteOldRdn: true });
    await a.ldapadd(`dn: cn=Temp,${PEOPLE}\nobjectClass: organizationalRole\ncn: Temp\n`);
    await a.ldapmodrdn(`cn=Temp,${PEOPLE}`, 'cn=Moved', { newSuperior: GROUPS });
    await relay.startSource();
    await relay.until('B to hold the renames', same);

    await a.ldapdelete(`cn=Crew,${GROUPS}`);
    await a.ldapmodify(`dn: cn=Augusta,${PEOPLE}\nchangetype: modify\ndelete: description\n`);
    await relay.until('B to hold the delete and the attribute removal', same);

    assert.equal(await tree(b), await tree(a));
    assert.match(await tree(b), /cn=Moved,ou=groups/);
    assert.deepEqual(relay.bStore.listDeadLetters(), [], 'nothing was dead-lettered');

    // B's capture saw every sink write (its cookie moved to B's newest CSN) and published none.
    const bHighWater = /contextCSN: (\S+)/.exec(await b.ldapsearch('cn=accesslog', '(objectClass=*)', ['contextCSN'], { scope: 'base' }))?.[1];
    await echoes.waitFor('B capture to pass the sink writes', (batches) => batches.find((x) => x.checkpoint.endsWith(`csn=${bHighWater}`)), 10_000);
    assert.deepEqual(echoes.changes, [], 'a replicator write on B was captured again');
  });

  it('dead-letters an entry B refuses, with the LDAP result code, and applies the rest', async () => {
    const a = await startSlapd();
    const b = await startSlapd();
    cleanups.push(() => a.stop(), () => b.stop());
    await b.ldapdelete(GROUPS);
    const relay = new Relay({
      source: { definition: ldapSource, options: sourceOptionsFor(a, { initial: 'now' }) },
      sink: { definition: ldapSink, options: sinkOptionsFor(b) },
    });
    cleanups.push(() => relay.close());
    await relay.startSource();
    await relay.live();
    // A holds ou=groups; B does not, so the member of it has no parent there.
    await a.ldapadd(`dn: cn=Orphan,${GROUPS}\nobjectClass: organizationalRole\ncn: Orphan\n`);
    await a.ldapadd(`dn: cn=Fine,${PEOPLE}\nobjectClass: organizationalRole\ncn: Fine\n`);
    await relay.until('the entry after the refused one to arrive', async () =>
      (await b.ldapsearch(PEOPLE, '(cn=Fine)', ['cn'])).includes('cn: Fine'),
    );
    const [letter, ...others] = relay.bStore.listDeadLetters();
    assert.equal(others.length, 0);
    assert.equal(letter?.code, 'PUBSYNC_ERR_LDAP_REJECTED');
    assert.equal(letter.details?.ldapResultCode, 32);
    assert.match(letter.message, /noSuchObject/);
  });
});
