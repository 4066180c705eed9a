import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { definePlugin } from '../../../src/plugin-api/index.js';
import { startProsody, type ProsodyServer } from '../../harness/prosody.js';
import { MemoryApp } from '../../support/convergence-apps.js';
import { MESH_NAMES, startMesh, type MeshReplica } from '../../support/convergence-mesh.js';
import { runTimeoutMs } from '../../support/convergence-model.js';
import { proveConvergence } from '../../support/convergence-run.js';
import { MemorySink, MemorySource } from '../../support/memory-plugins.js';

/** Changes per run in CI; PUBSYNC_CONVERGENCE_OPS makes a longer run. */
const OPS = 300;

/**
 * Set 0, the fast one for debugging the core: three daemons in a full mesh through a real Prosody,
 * each beside the test-only memory application (its sink feeds its source, so an applied change
 * shows in the feed as in a real application, and the sink names its source to say so).
 */
describe('convergence: three memory replicas', { timeout: runTimeoutMs(OPS) }, () => {
  let prosody: ProsodyServer;
  let replicas: MeshReplica[] = [];
  const apps: MemoryApp[] = [];

  before(async () => {
    prosody = await startProsody({ admins: MESH_NAMES.map((n) => `${n}@localhost`) });
    const specs = MESH_NAMES.map(() => {
      const source = new MemorySource();
      source.batchSize = 500;
      const sink = new MemorySink();
      sink.feed = source;
      apps.push(new MemoryApp(sink));
      return {
        sources: [{ name: 'mem', plugin: 'memory' }],
        sinks: [{ name: 'out', plugin: 'memory', source: 'mem' }],
        sink: 'out',
        builtins: [
          definePlugin({ kind: 'source', name: 'memory', configSchema: z.object({}), create: () => source }),
          definePlugin({ kind: 'sink', name: 'memory', configSchema: z.object({}), create: () => sink }),
        ],
      };
    });
    replicas = await startMesh(prosody, specs);
  });

  after(async () => {
    for (const replica of replicas) await replica.dispose();
    await prosody?.stop();
  });

  it('ends with every replica equal to the model, no change lost, no echo published', { timeout: runTimeoutMs(OPS) }, async (t) => {
    await proveConvergence(t, {
      replicas,
      apps,
      ops: OPS,
      fields: ['a', 'b', 'c'],
      keyAt: (_, object) => object.keys.find((k) => k.scheme === 'test-id')?.value,
      journalKey: (revision) => revision.keys.find((k) => k.scheme === 'test-id')?.value,
    });
  });
});
