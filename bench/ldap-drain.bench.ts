/**
 * Scenario c: LDAP backlog drain. `pubsync run` with the ldap source starts once (recording its
 * place in the accesslog) and stops; N inetOrgPerson entries are then added with ldapadd, so they
 * wait in the accesslog; the daemon starts again and drains them through Prosody to a second
 * daemon whose subscription runs the shipped ldap-person-to-contact.xsl into CouchDB. Changes per
 * second from the publisher's start to the last contact readable in CouchDB; also the same
 * entries read by a plain ldapsearch (the rate slapd itself serves them at) in the same run.
 * Default 5,000 changes, PUBSYNC_BENCH_FULL=1: 100,000 (PUBSYNC_BENCH_LDAP=n for another size).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStateStore } from '../src/state/index.js';
import { startCouchDb } from '../test/harness/couchdb.js';
import { startProsody } from '../test/harness/prosody.js';
import { startSlapd } from '../test/harness/slapd.js';
import type { BenchFigure, Benchmark } from './bench-api.js';
import { waitForCount } from './support/couch-http.js';
import { DaemonProcess, xmppSection } from './support/daemon-process.js';
import { COMPARE_PROTOTYPES, PROTOTYPE_NAMES, PROTOTYPES } from './support/prototypes.js';
import { perSecond, size } from './support/sizes.js';

const CHANGES = Number(process.env['PUBSYNC_BENCH_LDAP'] ?? size(5_000, 100_000));
const PEOPLE = 'ou=people,dc=example,dc=org';
const stylesheet = fileURLToPath(new URL('../transforms/ldap-person-to-contact.xsl', import.meta.url));

function person(i: number): string {
  const name = `Person${String(i).padStart(7, '0')}`;
  return [
    `dn: uid=${name},${PEOPLE}`,
    'objectClass: inetOrgPerson',
    `uid: ${name}`,
    `cn: ${name} Example`,
    `sn: Example${i}`,
    `givenName: ${name}`,
    `mail: ${name.toLowerCase()}@example.org`,
    `telephoneNumber: +1 555 ${String(i % 10_000).padStart(4, '0')}`,
    'title: Engineer',
    `description: ${'backlog entry '.repeat(40)}`,
    '',
  ].join('\n');
}

async function until(what: string, condition: () => boolean, alive: () => void, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    alive();
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export const benchmark: Benchmark = {
  name: 'ldap-drain',
  async run(): Promise<readonly BenchFigure[]> {
    const figures = [...(await drain(undefined, ''))];
    // PUBSYNC_BENCH_PROTOTYPES: the same drain again with the prototypes swapped in (same run).
    if (COMPARE_PROTOTYPES) figures.push(...(await drain(PROTOTYPES, `, with prototypes ${PROTOTYPE_NAMES}`)));
    return figures;
  },
};

async function drain(swap: string | undefined, label: string): Promise<readonly BenchFigure[]> {
  const options = swap === undefined ? {} : { swap };
  const slapd = await startSlapd();
  const couch = await startCouchDb({ startTimeoutMs: 120_000 });
  const prosody = await startProsody({ admins: ['pub@localhost'] });
  const dir = await mkdtemp(join(tmpdir(), 'pubsync-bench-ldap-'));
  const daemons: DaemonProcess[] = [];
  try {
    const pub = await prosody.createAccount('pub');
    const sub = await prosody.createAccount('sub');
    const contacts = await couch.createDatabase('contacts');
    const statePath = join(dir, 'publisher.db');
    const publisherConfig = {
      replica: { id: 1 },
      state: { path: statePath },
      xmpp: xmppSection(prosody, pub),
      sources: [
        {
          name: 'ldap',
          plugin: 'ldap',
          options: { url: slapd.url, bindDn: slapd.syncreader.dn, password: slapd.syncreader.password, base: PEOPLE, replicatorDn: slapd.replicator.dn, initial: 'now' },
        },
      ],
      nodes: [{ name: 'people', members: [sub.jid] }],
    };
    // First start: the source records where the accesslog is now, then the daemon stops.
    const first = await DaemonProcess.start('ldap-publisher-first', dir, publisherConfig, options);
    daemons.push(first);
    const checkpointed = (): boolean => {
      const store = openStateStore(statePath);
      try {
        return store.getCheckpoint('ldap') !== undefined;
      } finally {
        store.close();
      }
    };
    await until('the ldap source checkpoint', checkpointed, () => first.assertRunning());
    await first.stop();
    daemons.length = 0;

    // The backlog: written while no daemon runs.
    const t0 = performance.now();
    const chunk = 2_000;
    for (let start = 0; start < CHANGES; start += chunk) {
      const ldif = Array.from({ length: Math.min(chunk, CHANGES - start) }, (_, i) => person(start + i)).join('\n');
      await slapd.ldapadd(ldif);
    }
    const ldapaddRate = perSecond(CHANGES, t0);
    const s0 = performance.now();
    const listed = await slapd.ldapsearch(PEOPLE, '(objectClass=inetOrgPerson)', ['*']);
    const searchRate = perSecond(listed.split('\n\n').filter((b) => b.includes('dn:')).length, s0);

    const subscriber = await DaemonProcess.start('ldap-subscriber', dir, {
      replica: { id: 2 },
      state: { path: join(dir, 'subscriber.db') },
      xmpp: xmppSection(prosody, sub),
      sinks: [{ name: 'couch', plugin: 'couchdb', options: { url: couch.url, database: contacts } }],
      subscriptions: [{ name: 'people', node: 'people', publisher: pub.jid, sink: 'couch', transform: { stylesheet } }],
    }, options);
    daemons.push(subscriber);
    const started = performance.now();
    // A long --connect-timeout: with a backlog waiting, start() itself can take longer than the
    // default 30 s (see RESULTS.md); the time counts, since it runs from before the start.
    const publisher = await DaemonProcess.start('ldap-publisher', dir, publisherConfig, { ...options, args: ['--connect-timeout', '3600000'], readyTimeoutMs: 3_600_000 });
    daemons.push(publisher);
    const readyAt = performance.now();
    const done = await waitForCount(couch.url, contacts, CHANGES, 3_600_000, () => daemons.forEach((d) => d.assertRunning()), 200);
    const rate = perSecond(CHANGES, started, done);
    const rss = [publisher.peakRssMb(), subscriber.peakRssMb()];
    const readyAfter = (readyAt - started) / 1000;
    const base = { scenario: `plain ldapsearch of the ${CHANGES} entries${label}`, value: searchRate };
    return [
      { scenario: `ldapadd of the backlog (${CHANGES} entries, into the accesslog)${label}`, value: ldapaddRate, unit: 'entries/s' },
      { ...base, unit: 'entries/s' },
      {
        scenario: `accesslog backlog of ${CHANGES} adds -> pubsync -> prosody -> pubsync (ldap-person-to-contact.xsl) -> couchdb${label}`,
        value: rate,
        unit: 'changes/s',
        baseline: { ...base, ratio: rate / searchRate },
        notes: `from the publisher's start (ready after ${readyAfter.toFixed(1)} s); peak RSS MB publisher ${rss[0]!.toFixed(0)}, subscriber ${rss[1]!.toFixed(0)}`,
      },
    ];
  } finally {
    for (const daemon of daemons) await daemon.stop();
    await prosody.stop();
    await couch.stop();
    await slapd.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
