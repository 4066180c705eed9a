import { after, before, describe, it } from 'node:test';
import { startCouchDb, type CouchDb } from '../../harness/couchdb.js';
import { startProsody, type ProsodyServer } from '../../harness/prosody.js';
import { CouchApp } from '../../support/convergence-apps.js';
import { couchMember, MESH_NAMES, startMesh, type MeshReplica } from '../../support/convergence-mesh.js';
import { runTimeoutMs } from '../../support/convergence-model.js';
import { proveConvergence } from '../../support/convergence-run.js';

/** Changes per run in CI; PUBSYNC_CONVERGENCE_OPS makes a longer run. */
const OPS = 240;

const COUCH_ID = 'couchdb-id';

/**
 * Set 1: three daemons in a full mesh through a real Prosody, each beside its own database of the
 * embedded CouchDB-protocol server, with the real couchdb source and sink (the sink names the
 * source: they are one application). The users change the databases over HTTP meanwhile.
 */
describe('convergence: three CouchDB replicas', { timeout: runTimeoutMs(OPS) }, () => {
  let prosody: ProsodyServer;
  let couch: CouchDb;
  let replicas: MeshReplica[] = [];
  const apps: CouchApp[] = [];

  before(async () => {
    [prosody, couch] = await Promise.all([startProsody({ admins: MESH_NAMES.map((n) => `${n}@localhost`) }), startCouchDb()]);
    const specs = [];
    for (const name of MESH_NAMES) {
      const database = await couch.createDatabase(`conv-${name}`);
      apps.push(new CouchApp(couch.url, database));
      specs.push(couchMember(couch.url, database));
    }
    replicas = await startMesh(prosody, specs);
  });

  after(async () => {
    for (const replica of replicas) await replica.dispose();
    await Promise.all([prosody?.stop(), couch?.stop()]);
  });

  it('ends with every database equal to the model, no change lost, no echo published', { timeout: runTimeoutMs(OPS) }, async (t) => {
    await proveConvergence(t, {
      replicas,
      apps,
      ops: OPS,
      fields: ['a', 'b', 'c'],
      // A document keeps its _id in every database (the sink writes it under the origin's).
      keyAt: (_, object) => object.keys.find((k) => k.scheme === COUCH_ID)?.value,
      journalKey: (revision) => revision.keys.find((k) => k.scheme === COUCH_ID)?.value,
    });
  });
});
