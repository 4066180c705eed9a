import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startCouchDb, type CouchDb } from '../../test/harness/couchdb.js';
import { startDbus, type DbusDaemon } from '../../test/harness/dbus.js';
import { startProsody, type ProsodyServer } from '../../test/harness/prosody.js';
import { makeTempDir, removeDir } from '../../test/harness/service-process.js';
import { startSlapd, type SlapdInstance } from '../../test/harness/slapd.js';
import { startNotesApp, type NotesApp } from '../../test/integration/dbus/notes-app-process.js';
import { examples, type ExampleName } from './example-catalog.js';

/**
 * The servers the examples talk to, private and on loopback: Prosody, slapd, the embedded
 * CouchDB-protocol server (or the CouchDB of COUCHDB_URL), a D-Bus bus with the example notes app.
 * They come from the test harnesses, so the demo runs exactly what the tests run. `env` holds every
 * ${NAME} the example configs use.
 */
export interface DemoServices {
  readonly dir: string;
  readonly env: Readonly<Record<string, string>>;
  readonly prosody: ProsodyServer;
  readonly couch: CouchDb;
  readonly slapd: SlapdInstance | undefined;
  readonly dbus: DbusDaemon | undefined;
  readonly notesApp: NotesApp | undefined;
  /** Pids of every server process started here (an external CouchDB has none). */
  pids(): number[];
  /** Stops every server by pid and removes the temp dirs. Idempotent. */
  stop(): Promise<void>;
}

export async function startDemoServices(names: readonly ExampleName[]): Promise<DemoServices> {
  const specs = names.map((name) => examples[name]);
  const accounts = specs.flatMap((spec) => spec.daemons.map((daemon) => daemon.account));
  const dir = await makeTempDir('demo');
  const stops: (() => Promise<void>)[] = [() => removeDir(dir)];
  const stopAll = once(async () => {
    // Reverse order: the app before its bus, every server before the temp dir.
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  });
  try {
    const stateDir = join(dir, 'state');
    await mkdir(stateDir, { mode: 0o700 });
    const needsLdap = specs.some((spec) => spec.needs.ldap);
    const needsDbus = specs.some((spec) => spec.needs.dbus);
    const started = await Promise.allSettled([
      startProsody({ admins: accounts.map((account) => `${account}@localhost`) }),
      startCouchDb(),
      needsLdap ? startSlapd() : Promise.resolve(undefined),
      needsDbus ? startDbus() : Promise.resolve(undefined),
    ] as const);
    // Every server that did start is stopped, also when another failed.
    for (const result of started) {
      const server = result.status === 'fulfilled' ? result.value : undefined;
      if (server) stops.push(() => server.stop());
    }
    const failed = started.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
    const [prosody, couch, slapd, dbus] = started.map((result) => (result.status === 'fulfilled' ? result.value : undefined)) as [
      ProsodyServer,
      CouchDb,
      SlapdInstance | undefined,
      DbusDaemon | undefined,
    ];

    const env: Record<string, string> = {
      PUBSYNC_STATE_DIR: stateDir,
      XMPP_SERVICE: prosody.service,
      XMPP_DOMAIN: prosody.domain,
      XMPP_PUBSUB: prosody.pubsubService,
      COUCHDB_URL: couch.url,
    };
    for (const account of accounts) {
      const created = await prosody.createAccount(account);
      const variable = account.toUpperCase().replace(/-/g, '_');
      env[`${variable}_JID`] = created.jid;
      env[`${variable}_PASSWORD`] = created.password;
    }
    if (names.includes('directory-to-cms')) env['CMS_DATABASE'] = await couch.createDatabase('cms');
    if (names.includes('dbus-notes')) env['MEMOS_DATABASE'] = await couch.createDatabase('memos');
    if (names.includes('couch-multimaster')) {
      for (const site of ['A', 'B', 'C']) {
        env[`SITE_${site}_COUCHDB_URL`] = couch.url;
        env[`SITE_${site}_DATABASE`] = await couch.createDatabase(`site-${site.toLowerCase()}`);
      }
    }
    if (slapd) {
      Object.assign(env, {
        LDAP_URL: slapd.url,
        LDAP_SUFFIX: slapd.suffix,
        LDAP_SYNCREADER_DN: slapd.syncreader.dn,
        LDAP_SYNCREADER_PASSWORD: slapd.syncreader.password,
        LDAP_REPLICATOR_DN: slapd.replicator.dn,
        LDAP_REPLICATOR_PASSWORD: slapd.replicator.password,
        // Not used by the configs: for trying ldapmodify by hand as the directory's administrator.
        LDAP_ADMIN_DN: slapd.admin.dn,
        LDAP_ADMIN_PASSWORD: slapd.admin.password,
      });
    }
    let notesApp: NotesApp | undefined;
    if (dbus) {
      const data = join(dir, 'notes');
      await mkdir(data, { mode: 0o700 });
      notesApp = await startNotesApp(dbus.address, data);
      const app = notesApp;
      stops.push(() => app.stop());
      env['NOTES_DBUS_ADDRESS'] = dbus.address;
    }
    return {
      dir,
      env,
      prosody,
      couch,
      slapd,
      dbus,
      notesApp,
      pids: () =>
        [prosody.pid, couch.pid, slapd?.pid, dbus?.pid, notesApp?.proc.pid].filter((pid): pid is number => pid !== undefined),
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

function once(run: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => (running ??= run());
}
