import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { SourceChange, UpsertChange } from '../../../src/plugin-api/index.js';
import { BatchCollector, MemoryPluginState, createTestContext, instantiate } from '../../../src/testing/index.js';
import { ldapSource } from '../../../plugins/ldap/index.js';
import { Backoff } from '../../../src/pipeline/backoff.js';
import { runSource } from '../../../src/pipeline/source-runner.js';
import { capturePipeline, silentLogger } from '../../support/pipeline-fixture.js';
import { PEOPLE, parseLdif, sourceOptionsFor, startSlapd, type SlapdInstance } from './ldap-fixture.js';

const TIMEOUT_MS = 10_000;
// Every byte value that ldapjs used to mangle, a NUL and invalid UTF-8 among them.
const PHOTO = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x80, 0x81, 0xc3, 0x28, 0x0a, 0x0d, 0xfe]);
const MULTILINE = 'first line\nsecond line\n  indented';

interface Running {
  readonly collector: BatchCollector;
  stop(): Promise<void>;
  waitFor(what: string, match: (change: SourceChange) => boolean): Promise<SourceChange>;
}

async function run(
  slapd: SlapdInstance,
  options: Record<string, unknown>,
  from?: string,
  state = new MemoryPluginState(),
): Promise<Running> {
  const controller = new AbortController();
  const context = createTestContext({ signal: controller.signal, state });
  const source = await instantiate(ldapSource, sourceOptionsFor(slapd, options), context);
  const collector = new BatchCollector(source.start(from, controller.signal));
  // The source announces the end of its refresh with a batch: writes after it are live changes.
  await collector.waitFor('the source to be live', (batches) => (batches.length > 0 ? true : undefined), TIMEOUT_MS);
  return {
    collector,
    async stop() {
      controller.abort();
      await collector.ended(TIMEOUT_MS);
      await source.close?.();
    },
    waitFor: (what, match) =>
      collector.waitFor(what, (batches) => batches.flatMap((b) => b.changes).find(match), TIMEOUT_MS),
  };
}

const dnOf = (change: SourceChange): string | undefined => change.keys.find((k) => k.scheme === 'ldap-dn')?.value;
const field = (change: UpsertChange, name: string) => change.fields.find((f) => f.name === name);
const isUpsertOf = (dn: string, test: (change: UpsertChange) => boolean = () => true) => (change: SourceChange) =>
  change.op === 'upsert' && dnOf(change)?.toLowerCase() === dn.toLowerCase() && test(change);

async function entryUuidOf(slapd: SlapdInstance, dn: string): Promise<string> {
  const uuid = parseLdif(await slapd.ldapsearch(dn, '(objectClass=*)', ['entryUUID'], { scope: 'base' })).entryUUID?.[0];
  assert.ok(uuid, `no entryUUID for ${dn}`);
  return uuid;
}

describe('ldap source against a real slapd, changes made with the OpenLDAP clients', () => {
  const instances: SlapdInstance[] = [];
  after(() => Promise.all(instances.map((s) => s.stop())));
  const slapd = async (options?: Parameters<typeof startSlapd>[0]): Promise<SlapdInstance> => {
    const instance = await startSlapd(options);
    instances.push(instance);
    return instance;
  };

  it('captures add, modify (add/delete/replace), modrdn and delete with exact modification lists', async () => {
    const ldap = await slapd();
    const source = await run(ldap, { initial: 'now', tagAttributes: ['businessCategory'] });
    try {
      const dn = `cn=Ada,${PEOPLE}`;
      await ldap.ldapadd(
        [
          `dn: ${dn}`,
          'objectClass: inetOrgPerson',
          'cn: Ada',
          'sn: Lovelace',
          'businessCategory: staff',
          'telephoneNumber: +1 555 0100',
          'telephoneNumber: +1 555 0101',
          'title: Analyst',
          'userPassword: secret-hash',
          `description:: ${Buffer.from(MULTILINE).toString('base64')}`,
          `jpegPhoto:: ${PHOTO.toString('base64')}`,
          '',
        ].join('\n'),
      );
      const uuid = await entryUuidOf(ldap, dn);
      const added = (await source.waitFor('the add', isUpsertOf(dn))) as UpsertChange;
      assert.equal(added.globalId, uuid);
      assert.deepEqual(added.keys, [
        { scheme: 'ldap-entryuuid', value: uuid },
        { scheme: 'ldap-dn', value: dn },
      ]);
      assert.equal(added.type, 'inetOrgPerson');
      assert.deepEqual(added.tags, ['staff']);
      const photo = field(added, 'jpegPhoto');
      assert.equal(photo?.type, 'binary');
      assert.deepEqual(Buffer.from(photo.values[0] as Uint8Array), PHOTO);
      assert.deepEqual(field(added, 'description')?.values, [MULTILINE]);
      assert.equal(field(added, 'userPassword'), undefined, 'passwords are not published unless configured');
      for (const operational of ['entryCSN', 'entryUUID', 'modifiersName', 'createTimestamp', 'structuralObjectClass']) {
        assert.equal(field(added, operational), undefined, `${operational} was published`);
      }
      assert.deepEqual([...(added.changed ?? [])].sort(), ['businessCategory', 'cn', 'description', 'jpegPhoto', 'objectClass', 'sn', 'telephoneNumber', 'title']);

      await ldap.ldapmodify(
        [`dn: ${dn}`, 'changetype: modify', 'add: mail', 'mail: ada@example.org', '-', 'delete: telephoneNumber', 'telephoneNumber: +1 555 0100', '-', 'replace: title', 'title: Countess', '-', ''].join('\n'),
      );
      const modified = (await source.waitFor('the modify', isUpsertOf(dn, (c) => field(c, 'title')?.values[0] === 'Countess'))) as UpsertChange;
      assert.deepEqual([...(modified.changed ?? [])].sort(), ['mail', 'telephoneNumber', 'title']);
      assert.deepEqual(field(modified, 'telephoneNumber')?.values, ['+1 555 0101']);
      assert.deepEqual(field(modified, 'mail')?.values, ['ada@example.org']);
      assert.deepEqual(Buffer.from(field(modified, 'jpegPhoto')?.values[0] as Uint8Array), PHOTO, 'complete state, not only the modified attributes');

      await ldap.ldapmodrdn(dn, 'cn=Augusta', { deleteOldRdn: false });
      const renamedDn = `cn=Augusta,${PEOPLE}`;
      const renamed = (await source.waitFor('the rename', isUpsertOf(renamedDn))) as UpsertChange;
      assert.equal(renamed.globalId, uuid, 'a rename keeps the global id');
      assert.deepEqual(field(renamed, 'cn')?.values.slice().sort(), ['Ada', 'Augusta'], 'deleteOldRdn FALSE keeps the old value');
      assert.ok(renamed.changed?.includes('cn'));

      await ldap.ldapdelete(renamedDn);
      const deleted = await source.waitFor('the delete', (c) => c.op === 'delete');
      assert.equal(deleted.globalId, uuid);
      assert.equal(deleted.type, 'inetOrgPerson');
      assert.equal(dnOf(deleted), renamedDn);
    } finally {
      await source.stop();
    }
  });

  it('tells the core it never reports the sink writes only when it knows the replicator', async () => {
    const ldap = await slapd();
    const context = createTestContext({});
    assert.equal((await instantiate(ldapSource, sourceOptionsFor(ldap), context)).skipsSinkWrites, true);
    assert.equal((await instantiate(ldapSource, sourceOptionsFor(ldap, { replicatorDn: undefined }), context)).skipsSinkWrites, false);
  });

  it("never captures the replicator's own writes, yet moves its checkpoint past them", async () => {
    const ldap = await slapd();
    const source = await run(ldap, { initial: 'now' });
    try {
      const dn = `cn=Echo,${PEOPLE}`;
      await ldap.ldapadd(`dn: ${dn}\nobjectClass: organizationalRole\ncn: Echo\n`);
      await source.waitFor('the admin add', isUpsertOf(dn));
      await ldap.ldapmodify(`dn: ${dn}\nchangetype: modify\nreplace: description\ndescription: by replicator\n`, ldap.replicator);
      await ldap.ldapmodify(`dn: ${dn}\nchangetype: modify\nreplace: l\nl: by admin\n`);
      const later = (await source.waitFor('the admin modify', isUpsertOf(dn, (c) => field(c, 'l') !== undefined))) as UpsertChange;
      assert.deepEqual(later.changed, ['l'], 'the replicator modify must not be reported as changed');
      const echoes = source.collector.changes.filter(
        (c) => c.op === 'upsert' && (c.changed ?? []).includes('description'),
      );
      assert.deepEqual(echoes, [], 'a replicator write was captured');
    } finally {
      await source.stop();
    }
  });

  it('resumes from its checkpoint across a slapd restart: nothing lost, nothing repeated', async () => {
    const ldap = await slapd();
    const first = await run(ldap, { initial: 'now' });
    await ldap.ldapadd(`dn: cn=Before,${PEOPLE}\nobjectClass: organizationalRole\ncn: Before\n`);
    await first.waitFor('the first add', isUpsertOf(`cn=Before,${PEOPLE}`));
    const checkpoint = first.collector.batches.at(-1)?.checkpoint;
    assert.match(checkpoint ?? '', /^rid=000,csn=\d{14}\.\d{6}Z#/);
    await first.stop();

    await ldap.restart();
    await ldap.ldapadd(`dn: cn=WhileDown,${PEOPLE}\nobjectClass: organizationalRole\ncn: WhileDown\n`);
    const second = await run(ldap, { initial: 'now' }, checkpoint);
    try {
      await second.waitFor('the add made while down', isUpsertOf(`cn=WhileDown,${PEOPLE}`));
      await ldap.ldapadd(`dn: cn=AfterRestart,${PEOPLE}\nobjectClass: organizationalRole\ncn: AfterRestart\n`);
      await second.waitFor('the add after restart', isUpsertOf(`cn=AfterRestart,${PEOPLE}`));
      assert.equal(second.collector.changes.filter(isUpsertOf(`cn=Before,${PEOPLE}`)).length, 0, 'a committed change came again');
    } finally {
      await second.stop();
    }
  });

  it('resyncs the whole subtree when the log was purged past its checkpoint, deletes included', async () => {
    const ldap = await slapd({ logpurge: '00:00:01 00:00:01' });
    const state = new MemoryPluginState();
    const first = await run(ldap, { initial: 'now' }, undefined, state);
    await ldap.ldapadd(`dn: cn=Old,${PEOPLE}\nobjectClass: organizationalRole\ncn: Old\n`);
    await ldap.ldapadd(`dn: cn=Doomed,${PEOPLE}\nobjectClass: organizationalRole\ncn: Doomed\n`);
    await first.waitFor('the first adds', isUpsertOf(`cn=Doomed,${PEOPLE}`));
    const doomedUuid = await entryUuidOf(ldap, `cn=Doomed,${PEOPLE}`);
    const checkpoint = first.collector.batches.at(-1)?.checkpoint ?? '';
    await first.stop();
    await ldap.ldapadd(`dn: cn=Missed,${PEOPLE}\nobjectClass: organizationalRole\ncn: Missed\n`);
    await ldap.ldapdelete(`cn=Doomed,${PEOPLE}`);
    await waitForPurge(ldap, `cn=Doomed,${PEOPLE}`);

    const second = await run(ldap, { initial: 'now' }, checkpoint, state);
    try {
      await second.waitFor('the missed entry, from the resync', isUpsertOf(`cn=Missed,${PEOPLE}`));
      await second.waitFor('the old entry, from the resync', isUpsertOf(`cn=Old,${PEOPLE}`));
      const deleted = await second.waitFor('the delete lost with the log', (c) => c.op === 'delete');
      assert.equal(deleted.globalId, doomedUuid);
      assert.equal(dnOf(deleted), `cn=Doomed,${PEOPLE}`);
      assert.equal(deleted.type, 'organizationalRole');
      const checkpoints = second.collector.batches.map((b) => b.checkpoint);
      assert.ok(checkpoints.some((c) => c.startsWith('rid=000')), `the resync never completed: ${checkpoints.join(' ')}`);
      await ldap.ldapadd(`dn: cn=Fresh,${PEOPLE}\nobjectClass: organizationalRole\ncn: Fresh\n`);
      await second.waitFor('a change after the resync', isUpsertOf(`cn=Fresh,${PEOPLE}`));
    } finally {
      await second.stop();
    }
  });

  it('recovers from a slapd restart under a running capture, through the core, losing nothing', async () => {
    const ldap = await slapd();
    const a = capturePipeline();
    const controller = new AbortController();
    const source = await instantiate(ldapSource, sourceOptionsFor(ldap, { initial: 'now' }), createTestContext({ signal: controller.signal }));
    const running = runSource({
      name: 'people',
      source,
      capture: a.capture,
      store: a.store,
      logger: silentLogger,
      signal: controller.signal,
      backoff: new Backoff({ initialMs: 20, maxMs: 200 }),
    });
    const logged = (cn: string) => async (): Promise<boolean> =>
      a.store.readOutbound(0n, 10_000).some((record) => record.payload.includes(`cn=${cn},`));
    try {
      await until('the source to be live (a committed checkpoint)', async () => a.store.getCheckpoint('people') !== undefined);
      await ldap.ldapadd(`dn: cn=First,${PEOPLE}\nobjectClass: organizationalRole\ncn: First\n`);
      await until('the first add in the outbound log', logged('First'));
      await ldap.restart();
      await ldap.ldapadd(`dn: cn=Second,${PEOPLE}\nobjectClass: organizationalRole\ncn: Second\n`);
      await until('the add after the slapd restart in the outbound log', logged('Second'));
      const firsts = a.store.readOutbound(0n, 10_000).filter((record) => record.payload.includes('cn=First,'));
      assert.equal(firsts.length, 1, 'the change before the restart was logged twice');
    } finally {
      controller.abort();
      await running;
      await source.close?.();
      a.close();
    }
  });

  it('polls the log by entryCSN when configured to', async () => {
    const ldap = await slapd();
    const source = await run(ldap, { initial: 'now', capture: 'poll', pollIntervalMs: 20 });
    try {
      const dn = `cn=Polled,${PEOPLE}`;
      await ldap.ldapadd(`dn: ${dn}\nobjectClass: organizationalRole\ncn: Polled\n`);
      await source.waitFor('the add', isUpsertOf(dn));
      await ldap.ldapmodify(`dn: ${dn}\nchangetype: modify\nadd: description\ndescription: polled\n`);
      const modified = (await source.waitFor('the modify', isUpsertOf(dn, (c) => field(c, 'description') !== undefined))) as UpsertChange;
      assert.deepEqual(modified.changed, ['description']);
      await ldap.ldapdelete(dn);
      await source.waitFor('the delete', (c) => c.op === 'delete');
    } finally {
      await source.stop();
    }
  });
});

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + TIMEOUT_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Polls (with a deadline) until logpurge removed the log record of the add of `dn`. */
async function waitForPurge(ldap: SlapdInstance, dn: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const out = await ldap.ldapsearch(ldap.accesslogSuffix, `(reqDN=${dn})`, ['reqDN'], { scope: 'one' });
    if (!out.includes('reqDN')) return;
    if (Date.now() > deadline) throw new Error(`logpurge did not remove the record of ${dn}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
