import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadPlugins } from '../../../src/plugin-host/index.js';

describe('dbus plugin as a built-in', () => {
  it('is registered as a source and a sink, and passes the host checks', async () => {
    const registry = await loadPlugins({ file: '/nonexistent/pubsync.yaml', modules: [] });
    for (const kind of ['source', 'sink'] as const) {
      const definition = registry.get(kind, 'dbus');
      assert.ok(definition !== undefined, `no built-in dbus ${kind}`);
      const parsed = definition.configSchema.safeParse({ service: 'org.pubsync.Notes', objectPath: '/', interface: 'org.pubsync.Notes' });
      assert.equal(parsed.success, true);
    }
  });
});
