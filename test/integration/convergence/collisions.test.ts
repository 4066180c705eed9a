import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startCouchDb, type CouchDb } from '../../harness/couchdb.js';
import { startProsody, type ProsodyServer } from '../../harness/prosody.js';
import { pubsync } from '../../support/cli.js';
import { CouchApp } from '../../support/convergence-apps.js';
import { settle } from '../../support/convergence-check.js';
import { couchMember, MESH_NAMES, startMesh, type MeshReplica } from '../../support/convergence-mesh.js';
import { normalise, type ObjectState } from '../../support/convergence-model.js';
import { eventually } from '../xmpp/replicas.js';

/**
 * Key collisions (the Dovecot seed's UID case) between three CouchDB replicas: the same _id created
 * independently on r1 and on r2 while r2's daemon is down, so the two objects get different global
 * ids and meet when r2 comes back. r1's is the older (captured first). Each policy must leave every
 * replica with the same documents, record the collision, and show it in `pubsync status`.
 */
for (const policy of ['rename', 'merge'] as const) {
  describe(`convergence: key collisions between CouchDB replicas (${policy})`, { timeout: 240_000 }, () => {
    let prosody: ProsodyServer;
    let couch: CouchDb;
    let replicas: MeshReplica[] = [];
    const apps: CouchApp[] = [];

    before(async () => {
      [prosody, couch] = await Promise.all([startProsody({ admins: MESH_NAMES.map((n) => `${n}@localhost`) }), startCouchDb()]);
      const specs = [];
      for (const name of MESH_NAMES) {
        const database = await couch.createDatabase(`coll-${name}`);
        apps.push(new CouchApp(couch.url, database));
        specs.push(couchMember(couch.url, database, { replication: { collisions: policy } }));
      }
      replicas = await startMesh(prosody, specs);
    });

    after(async () => {
      for (const replica of replicas) await replica.dispose();
      await Promise.all([prosody?.stop(), couch?.stop()]);
    });

    it(`resolves the same _id created on two replicas by ${policy}, the same everywhere, and records it`, async () => {
      const [r1, r2, r3] = replicas as [MeshReplica, MeshReplica, MeshReplica];
      const [a1, a2, a3] = apps as [CouchApp, CouchApp, CouchApp];
      await r2.stop();
      assert.ok(await a1.set('dup', 'a', 'from-r1'));
      assert.ok(await a1.set('dup', 'b', 'r1-only'));
      // r1's object is captured and published (r3 holds it) before r2's exists at all.
      await eventually("r3 to apply r1's dup", () => r1.store.lastOutboundSeq() >= 1n && r3.highWater('r1') >= r1.store.lastOutboundSeq(), 30_000);
      assert.ok(await a3.knows('dup'));
      assert.ok(await a2.set('dup', 'a', 'from-r2'));
      assert.ok(await a2.set('dup', 'c', 'r2-only'));
      await r2.start();

      const report = await settle(replicas, apps, 90_000, [4, 4, 2]);
      const states = await Promise.all(apps.map(async (app) => stateOf(await app.snapshot())));
      assert.ok(report.settled, `not settled: heads ${report.heads.join('/')}, applied ${report.highWater.map((row) => row.join(',')).join(' | ')}; last change ${report.lastChange ?? 'none'}; states ${JSON.stringify(states)}`);
      const all = JSON.stringify(states);
      assert.deepEqual(states[1], states[0], `r2 holds what r1 holds; r1/r2/r3 hold ${all}`);
      assert.deepEqual(states[2], states[0], `r3 holds what r1 holds; r1/r2/r3 hold ${all}`);

      const held = states[0] ?? {};
      if (policy === 'rename') {
        // The older keeps the key; the newer lives on under another key, with its own fields.
        assert.deepEqual(held['dup'], { a: ['from-r1'], b: ['r1-only'] }, 'dup is r1\'s object');
        const others = Object.entries(held).filter(([key]) => key !== 'dup');
        assert.equal(others.length, 1, `one renamed document besides dup: ${JSON.stringify(held)}`);
        assert.deepEqual(others[0]?.[1], { a: ['from-r2'], c: ['r2-only'] }, 'the renamed document is r2\'s object');
      } else {
        // One object, fields merged by CSN: r2's a was captured later, so it wins.
        assert.deepEqual(held, { dup: { a: ['from-r2'], b: ['r1-only'], c: ['r2-only'] } });
      }

      for (const replica of replicas) {
        const collisions = replica.store.listConflicts({ limit: 100 }).filter((c) => c.kind === 'collision');
        assert.ok(collisions.length >= 1, `${replica.name} recorded the collision`);
      }
      const status = await pubsync('status', '-c', r1.configPath, '--json');
      assert.equal(status.code, 0, status.stderr);
      const shown = JSON.parse(status.stdout) as { keyCollisions?: number };
      assert.ok((shown.keyCollisions ?? 0) >= 1, `pubsync status shows the collision: ${status.stdout}`);
    });
  });
}

function stateOf(snapshot: Map<string, Readonly<Record<string, readonly unknown[]>>>): Record<string, ObjectState> {
  return Object.fromEntries([...snapshot.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([key, fields]) => [key, normalise(fields)]));
}
