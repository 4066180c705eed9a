import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { ErrorCodes, type SourceChange, type UpsertChange } from '../../../src/plugin-api/index.js';
import { BatchCollector, MemoryPluginState, createTestContext, instantiate } from '../../../src/testing/index.js';
import { ldapSource } from '../../../plugins/ldap/index.js';
import { LdapToolError, runTool } from '../../harness/slapd.js';
import { PEOPLE, parseLdif, sourceOptionsFor, startSlapd, type SlapdInstance } from './ldap-fixture.js';

/**
 * The capture's two fallbacks on a real slapd: capture 'auto' against an accesslog database without
 * the syncprov overlay (poll the log by entryCSN instead), and syncprov answering the sync cookie
 * with e-syncRefreshRequired (4096: resync the subtree, then follow the log).
 */

const TIMEOUT_MS = 10_000;
const FELL_BACK = 'no syncprov on the accesslog: polling it instead';
const UNAVAILABLE_CRITICAL_EXTENSION = 12;

interface LogLine {
  readonly level: number;
  readonly msg?: string;
  readonly code?: string;
}

interface Running {
  readonly collector: BatchCollector;
  readonly logs: LogLine[];
  stop(): Promise<void>;
  waitFor(what: string, match: (change: SourceChange) => boolean): Promise<SourceChange>;
}

async function run(slapd: SlapdInstance, options: Record<string, unknown>, from?: string, state = new MemoryPluginState()): Promise<Running> {
  const logs: LogLine[] = [];
  const logger = pino(
    { level: 'info' },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        logs.push(JSON.parse(chunk.toString()) as LogLine);
        done();
      },
    }),
  );
  const controller = new AbortController();
  const context = createTestContext({ signal: controller.signal, state, logger });
  const source = await instantiate(ldapSource, sourceOptionsFor(slapd, options), context);
  const collector = new BatchCollector(source.start(from, controller.signal));
  // The first batch is the source saying it is live (caught up), in both capture modes.
  await collector.waitFor('the source to be live', (batches) => (batches.length > 0 ? true : undefined), TIMEOUT_MS);
  return {
    collector,
    logs,
    async stop() {
      controller.abort();
      await collector.ended(TIMEOUT_MS);
      await source.close?.();
    },
    waitFor: (what, match) => collector.waitFor(what, (batches) => batches.flatMap((b) => b.changes).find(match), TIMEOUT_MS),
  };
}

const dnOf = (change: SourceChange): string | undefined => change.keys.find((k) => k.scheme === 'ldap-dn')?.value;
const field = (change: UpsertChange, name: string) => change.fields.find((f) => f.name === name);
const isUpsertOf = (dn: string, test: (change: UpsertChange) => boolean = () => true) => (change: SourceChange) =>
  change.op === 'upsert' && dnOf(change)?.toLowerCase() === dn.toLowerCase() && test(change);
const fellBack = (logs: readonly LogLine[]): boolean => logs.some((line) => line.level === 40 && line.msg === FELL_BACK);

/** An RFC 4533 refreshOnly search on the log with OpenLDAP's ldapsearch (critical control). */
async function syncSearchOnLog(ldap: SlapdInstance): Promise<unknown> {
  const { url, syncreader: as, accesslogSuffix } = ldap;
  const args = ['-x', '-H', url, '-D', as.dn, '-w', as.password, '-LLL', '-E', '!sync=ro', '-s', 'one', '-b', accesslogSuffix, '(reqType=add)', '1.1'];
  return runTool('ldapsearch', args).then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe('ldap source, capture auto, against a slapd without syncprov on the accesslog', () => {
  const instances: SlapdInstance[] = [];
  after(() => Promise.all(instances.map((s) => s.stop())));
  const slapd = async (): Promise<SlapdInstance> => {
    const instance = await startSlapd({ accesslogSyncprov: false });
    instances.push(instance);
    return instance;
  };

  it('the harness option really leaves the log without syncprov (ldapsearch -E !sync fails with 12)', async () => {
    const ldap = await slapd();
    const error = await syncSearchOnLog(ldap);
    assert.ok(error instanceof LdapToolError, 'a sync search on the log succeeded: syncprov is there');
    assert.equal(error.exitCode, UNAVAILABLE_CRITICAL_EXTENSION, error.stderr);
  });

  it('falls back to polling, logs it, and captures add, modify, modrdn and delete made by the OpenLDAP clients', async () => {
    const ldap = await slapd();
    const source = await run(ldap, { initial: 'now', capture: 'auto', pollIntervalMs: 20 });
    try {
      assert.ok(fellBack(source.logs), `no fallback warning logged: ${JSON.stringify(source.logs)}`);
      const dn = `cn=Grace,${PEOPLE}`;
      await ldap.ldapadd([`dn: ${dn}`, 'objectClass: inetOrgPerson', 'cn: Grace', 'sn: Hopper', 'title: Rear Admiral', ''].join('\n'));
      const uuid = parseLdif(await ldap.ldapsearch(dn, '(objectClass=*)', ['entryUUID'], { scope: 'base' })).entryUUID?.[0];
      assert.ok(uuid);
      const added = (await source.waitFor('the add', isUpsertOf(dn))) as UpsertChange;
      assert.equal(added.globalId, uuid);
      assert.equal(added.type, 'inetOrgPerson');

      await ldap.ldapmodify([`dn: ${dn}`, 'changetype: modify', 'add: mail', 'mail: grace@example.org', '-', 'replace: title', 'title: Commodore', '-', ''].join('\n'));
      const modified = (await source.waitFor('the modify', isUpsertOf(dn, (c) => field(c, 'title')?.values[0] === 'Commodore'))) as UpsertChange;
      assert.deepEqual([...(modified.changed ?? [])].sort(), ['mail', 'title']);
      assert.deepEqual(field(modified, 'mail')?.values, ['grace@example.org']);

      await ldap.ldapmodrdn(dn, 'cn=Amazing Grace', { deleteOldRdn: true });
      const renamedDn = `cn=Amazing Grace,${PEOPLE}`;
      const renamed = (await source.waitFor('the rename', isUpsertOf(renamedDn))) as UpsertChange;
      assert.equal(renamed.globalId, uuid, 'a rename keeps the global id');
      assert.deepEqual(field(renamed, 'cn')?.values, ['Amazing Grace'], 'deleteOldRdn TRUE dropped the old value');

      await ldap.ldapdelete(renamedDn);
      const deleted = await source.waitFor('the delete', (c) => c.op === 'delete');
      assert.equal(deleted.globalId, uuid);
      assert.equal(dnOf(deleted), renamedDn);

      const ops = source.collector.changes.filter((c) => c.globalId === uuid).map((c) => c.op);
      assert.deepEqual(ops, ['upsert', 'upsert', 'upsert', 'delete'], 'each write captured exactly once, in order');
    } finally {
      await source.stop();
    }
  });

  it('resumes from its checkpoint across a daemon stop and a slapd restart: nothing lost, nothing repeated', async () => {
    const ldap = await slapd();
    const first = await run(ldap, { initial: 'now', pollIntervalMs: 20 });
    await ldap.ldapadd(`dn: cn=Before,${PEOPLE}\nobjectClass: organizationalRole\ncn: Before\n`);
    await first.waitFor('the first add', isUpsertOf(`cn=Before,${PEOPLE}`));
    const checkpoint = first.collector.batches.at(-1)?.checkpoint;
    assert.match(checkpoint ?? '', /^rid=000,csn=\d{14}\.\d{6}Z#/);
    assert.ok(fellBack(first.logs));
    await first.stop();

    await ldap.ldapadd(`dn: cn=WhileDown,${PEOPLE}\nobjectClass: organizationalRole\ncn: WhileDown\n`);
    await ldap.ldapmodify(`dn: cn=Before,${PEOPLE}\nchangetype: modify\nreplace: description\ndescription: while down\n`);
    await ldap.restart();
    const second = await run(ldap, { initial: 'now', pollIntervalMs: 20 }, checkpoint);
    try {
      assert.ok(fellBack(second.logs), 'the restarted source did not log its fallback');
      await second.waitFor('the add made while down', isUpsertOf(`cn=WhileDown,${PEOPLE}`));
      await second.waitFor('the modify made while down', isUpsertOf(`cn=Before,${PEOPLE}`, (c) => field(c, 'description') !== undefined));
      await ldap.ldapadd(`dn: cn=AfterRestart,${PEOPLE}\nobjectClass: organizationalRole\ncn: AfterRestart\n`);
      await second.waitFor('the add after restart', isUpsertOf(`cn=AfterRestart,${PEOPLE}`));
      const befores = second.collector.changes.filter(isUpsertOf(`cn=Before,${PEOPLE}`));
      assert.equal(befores.length, 1, 'the add committed before the stop came again');
      assert.deepEqual(befores[0]?.op === 'upsert' ? befores[0].changed : undefined, ['description']);
      const whileDown = second.collector.changes.filter(isUpsertOf(`cn=WhileDown,${PEOPLE}`));
      assert.equal(whileDown.length, 1);
    } finally {
      await second.stop();
    }
  });

  it("capture: 'sync' does not fall back: it fails with the server's refusal", async () => {
    const ldap = await slapd();
    const controller = new AbortController();
    const context = createTestContext({ signal: controller.signal });
    const source = await instantiate(ldapSource, sourceOptionsFor(ldap, { initial: 'now', capture: 'sync' }), context);
    try {
      await assert.rejects(async () => {
        for await (const batch of source.start(undefined, controller.signal)) void batch;
      }, /critical|12/i);
    } finally {
      controller.abort();
      await source.close?.();
    }
  });
});

describe('ldap source when syncprov answers its cookie with e-syncRefreshRequired (4096)', () => {
  const instances: SlapdInstance[] = [];
  after(() => Promise.all(instances.map((s) => s.stop())));

  // slapd 2.5.13 sends 4096 ("sync cookie is stale") when no log record has an entryCSN at or below
  // the cookie's, syncprov-reloadhint is TRUE and the request's reloadHint is FALSE. A cookie older
  // than the oldest record that was never purged (the log was recreated, or the checkpoint belongs
  // to an earlier incarnation of the directory) passes the source's own minCSN check, so only the
  // server can tell: ldapsearch -E '!sync=ro/<cookie>' shows the same answer.
  const ANCIENT = 'rid=000,csn=20200101000000.000000Z#000000#000#000000';

  it('resyncs the subtree, logs it, then follows the log', async () => {
    const ldap = await startSlapd({ logpurge: false });
    instances.push(ldap);
    await ldap.ldapadd(`dn: cn=Existing,${PEOPLE}\nobjectClass: organizationalRole\ncn: Existing\n`);
    await ldap.ldapadd(`dn: cn=AlsoExisting,${PEOPLE}\nobjectClass: organizationalRole\ncn: AlsoExisting\n`);
    const source = await run(ldap, { initial: 'now' }, ANCIENT);
    try {
      await source.waitFor('the snapshot of Existing', isUpsertOf(`cn=Existing,${PEOPLE}`));
      await source.waitFor('the snapshot of AlsoExisting', isUpsertOf(`cn=AlsoExisting,${PEOPLE}`));
      const warned = source.logs.find((line) => line.code === ErrorCodes.LDAP_LOG_PURGED);
      assert.equal(warned?.msg, 'e-syncRefreshRequired: full resync of the subtree', JSON.stringify(source.logs));
      const checkpoints = source.collector.batches.map((b) => b.checkpoint);
      assert.ok(checkpoints.some((c) => c !== ANCIENT && c.startsWith('rid=000,csn=')), `no live checkpoint: ${checkpoints.join(' ')}`);

      await ldap.ldapadd(`dn: cn=Later,${PEOPLE}\nobjectClass: organizationalRole\ncn: Later\n`);
      const later = await source.waitFor('a change after the resync', isUpsertOf(`cn=Later,${PEOPLE}`));
      assert.equal(later.op, 'upsert');
      assert.equal(source.collector.changes.filter(isUpsertOf(`cn=Existing,${PEOPLE}`)).length, 1, 'Existing came more than once');
    } finally {
      await source.stop();
    }
  });
});
