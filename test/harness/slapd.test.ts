import assert from 'node:assert/strict';
import { access } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { Client } from 'ldapts';
import { LdapToolError, startSlapd, type LdapIdentity, type SlapdInstance } from './slapd.js';

type LdifRecord = Map<string, string[]>;

/** Parses unwrapped -LLL output; attribute names lower-cased, base64 values decoded. */
function parseLdif(text: string): LdifRecord[] {
  return text
    .split(/\n\n+/)
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const record: LdifRecord = new Map();
      for (const line of block.split('\n')) {
        const match = /^([^:]+)(::?) ?(.*)$/.exec(line);
        if (!match) continue;
        const [, name = '', sep, raw = ''] = match;
        const value = sep === '::' ? Buffer.from(raw, 'base64').toString('utf8') : raw;
        const key = name.toLowerCase();
        record.set(key, [...(record.get(key) ?? []), value]);
      }
      return record;
    });
}

function personLdif(uid: string): string {
  return [
    `dn: uid=${uid},ou=people,dc=example,dc=org`,
    'objectClass: inetOrgPerson',
    `uid: ${uid}`,
    `cn: ${uid}`,
    `sn: ${uid}`,
    `mail: ${uid}@example.org`,
    '',
  ].join('\n');
}

function personDn(uid: string): string {
  return `uid=${uid},ou=people,dc=example,dc=org`;
}

/** Log records for one target DN, read the way the capture side will: as syncreader. */
async function logFor(ldap: SlapdInstance, dn: string): Promise<LdifRecord[]> {
  const out = await ldap.ldapsearch(
    ldap.accesslogSuffix,
    `(&(objectClass=auditWriteObject)(reqDN=${dn}))`,
    ['reqType', 'reqDN', 'reqAuthzID', 'reqResult', 'entryCSN'],
    { as: ldap.syncreader, scope: 'one' },
  );
  return parseLdif(out).sort((a, b) => (a.get('entrycsn')?.[0] ?? '').localeCompare(b.get('entrycsn')?.[0] ?? ''));
}

function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

void describe('slapd harness: one shared instance', () => {
  let shared: SlapdInstance | undefined;
  const ldap = (): SlapdInstance => {
    assert.ok(shared, 'slapd did not start');
    return shared;
  };
  before(async () => {
    shared = await startSlapd();
  });
  after(() => shared?.stop());

  void test('starts and answers an ldapsearch with the base entries', async () => {
    assert.match(ldap().url, /^ldap:\/\/127\.0\.0\.1:\d+$/);
    const out = await ldap().ldapsearch(ldap().suffix, '(objectClass=*)', ['1.1'], { scope: 'one' });
    const dns = parseLdif(out).map((record) => record.get('dn')?.[0]);
    assert.deepEqual(new Set(dns), new Set([
      'ou=people,dc=example,dc=org',
      'ou=groups,dc=example,dc=org',
      'cn=replicator,dc=example,dc=org',
      'cn=syncreader,dc=example,dc=org',
    ]));
  });

  void test('an inetOrgPerson added as admin can be searched', async () => {
    await ldap().ldapadd(personLdif('alice'));
    const [alice] = parseLdif(await ldap().ldapsearch(ldap().suffix, '(uid=alice)', ['mail']));
    assert.deepEqual(alice?.get('mail'), ['alice@example.org']);
  });

  void test('cn=accesslog records each write with the writer, so replicator writes can be told apart', async () => {
    const dn = personDn('bob');
    await ldap().ldapadd(personLdif('bob'));
    await ldap().ldapmodify(`dn: ${dn}\nchangetype: modify\nreplace: mail\nmail: bob@sink.example.org\n`, ldap().replicator);

    const log = await logFor(ldap(), dn);
    assert.deepEqual(
      log.map((r) => [r.get('reqtype')?.[0], r.get('reqdn')?.[0], r.get('reqauthzid')?.[0], r.get('reqresult')?.[0]]),
      [
        ['add', dn, ldap().admin.dn, '0'],
        ['modify', dn, ldap().replicator.dn, '0'],
      ],
    );

    // The capture filter from the note drops the replicator's own writes.
    const captured = parseLdif(await ldap().ldapsearch(
      ldap().accesslogSuffix,
      `(&(objectClass=auditWriteObject)(reqResult=0)(reqDN=${dn})(!(reqAuthzID=${ldap().replicator.dn})))`,
      ['reqType'],
      { as: ldap().syncreader, scope: 'one' },
    ));
    assert.deepEqual(captured.map((r) => r.get('reqtype')?.[0]), ['add']);
  });

  void test('syncreader may read but not write; other users cannot read the log', async () => {
    const dn = personDn('carol');
    await ldap().ldapadd(personLdif('carol'));
    await assert.rejects(
      ldap().ldapmodify(`dn: ${dn}\nchangetype: modify\nreplace: mail\nmail: x@example.org\n`, ldap().syncreader),
      (error: unknown) => error instanceof LdapToolError && error.exitCode === 50, // insufficientAccess
    );
    // Without disclose access slapd hides the log's existence: noSuchObject, not an empty result.
    await assert.rejects(
      ldap().ldapsearch(ldap().accesslogSuffix, '(objectClass=*)', ['1.1'], { as: ldap().replicator, scope: 'one' }),
      (error: unknown) => error instanceof LdapToolError && error.exitCode === 32,
    );
  });

  void test('ldapmodrdn and ldapdelete helpers reach the server and the log', async () => {
    await ldap().ldapadd(personLdif('dave'));
    await ldap().ldapmodrdn(personDn('dave'), 'uid=david', { deleteOldRdn: true });
    await ldap().ldapdelete(personDn('david'));
    assert.equal(await ldap().ldapsearch(ldap().suffix, '(|(uid=dave)(uid=david))', ['1.1']), '');
    assert.deepEqual((await logFor(ldap(), personDn('dave'))).map((r) => r.get('reqtype')?.[0]), ['add', 'modrdn']);
    assert.deepEqual((await logFor(ldap(), personDn('david'))).map((r) => r.get('reqtype')?.[0]), ['delete']);
  });

  void test('ldapts binds as syncreader and searches cn=accesslog', async () => {
    await ldap().ldapadd(personLdif('erin'));
    const client = new Client({ url: ldap().url, timeout: 5000, connectTimeout: 5000 });
    try {
      const { dn, password }: LdapIdentity = ldap().syncreader;
      await client.bind(dn, password);
      const { searchEntries } = await client.search(ldap().accesslogSuffix, {
        scope: 'one',
        filter: `(&(reqType=add)(reqDN=${personDn('erin')}))`,
        attributes: ['reqType', 'reqDN', 'reqAuthzID', 'reqMod', 'entryCSN'],
        explicitBufferAttributes: ['reqMod'],
      });
      assert.equal(searchEntries.length, 1);
      const [entry] = searchEntries;
      assert.equal(entry?.['reqAuthzID'], ldap().admin.dn);
      const mods = (entry?.['reqMod'] as Buffer[]).map((value) => value.toString('utf8'));
      assert.ok(mods.includes('mail:+ erin@example.org'), mods.join('\n'));
    } finally {
      await client.unbind();
    }
  });
});

void describe('slapd harness: lifecycle', () => {
  void test('two instances run side by side on different ports', async (t) => {
    const [a, b] = await Promise.all([startSlapd(), startSlapd()]);
    t.after(() => Promise.all([a.stop(), b.stop()]));
    assert.notEqual(a.port, b.port);
    assert.notEqual(a.pid, b.pid);
    assert.notEqual(a.dir, b.dir);
    await a.ldapadd(personLdif('only-in-a'));
    assert.match(await a.ldapsearch(a.suffix, '(uid=only-in-a)', ['1.1']), /^dn: uid=only-in-a,/);
    assert.equal(await b.ldapsearch(b.suffix, '(uid=only-in-a)', ['1.1']), '');
  });

  void test('restart keeps the port, the data and the log', async (t) => {
    const ldap = await startSlapd();
    t.after(() => ldap.stop());
    await ldap.ldapadd(personLdif('frank'));
    const oldPid = ldap.pid;
    const url = ldap.url;
    await ldap.restart();
    assert.notEqual(ldap.pid, oldPid);
    assert.ok(isGone(oldPid), 'old slapd still running');
    assert.equal(ldap.url, url);
    assert.match(await ldap.ldapsearch(ldap.suffix, '(uid=frank)', ['1.1']), /^dn: uid=frank,/);
    assert.deepEqual((await logFor(ldap, personDn('frank'))).map((r) => r.get('reqtype')?.[0]), ['add']);
  });

  void test('stop leaves no process and no directory', async () => {
    const ldap = await startSlapd({ dbnosync: false, logpurge: false });
    const { pid, dir } = ldap;
    await ldap.stop();
    assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' });
    await assert.rejects(access(dir), { code: 'ENOENT' });
    await ldap.stop(); // idempotent
  });
});
