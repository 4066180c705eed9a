import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PluginContext } from '../../../src/plugin-api/index.js';
import { PluginHost, storeScope } from '../../../src/plugin-host/index.js';
import { kvPluginStore } from '../../../src/plugin-host/plugin-context.js';
import { MemoryPluginState } from '../../../src/testing/index.js';
import { captureLogger, idleSource, nullSink, planned } from './support.js';

async function contexts(state: MemoryPluginState) {
  const log = captureLogger();
  const seen = new Map<string, PluginContext>();
  const host = new PluginHost(
    [
      planned('source', 'people', (ctx) => (seen.set('people', ctx), idleSource()), 'ldap'),
      planned('sink', 'crm', (ctx) => (seen.set('crm', ctx), nullSink()), 'couchdb'),
    ],
    { logger: log.logger, clock: { now: () => 42 }, state, replica: { id: 3, jid: 'a@example.org' } },
  );
  await host.start();
  return { host, log, people: seen.get('people')!, crm: seen.get('crm')! };
}

describe('plugin context', () => {
  it('gives each instance its name, clock, replica and a logger bound to it', async () => {
    const { host, log, people } = await contexts(new MemoryPluginState());
    assert.equal(people.name, 'people');
    assert.equal(people.clock.now(), 42);
    assert.deepEqual(people.replica, { id: 3, jid: 'a@example.org' });
    people.logger.info('hello');
    const line = log.lines.find((l) => l['msg'] === 'hello');
    assert.deepEqual([line?.['plugin'], line?.['kind'], line?.['instance']], ['ldap', 'source', 'people']);
    await host.stop();
  });

  it('reads a source’s committed checkpoint; other kinds have none', async () => {
    const state = new MemoryPluginState();
    state.setCheckpoint('people', 'cookie-17');
    state.setCheckpoint('crm', 'should not be seen');
    const { host, people, crm } = await contexts(state);
    assert.equal(await people.checkpoint(), 'cookie-17');
    assert.equal(await crm.checkpoint(), undefined);
    await host.stop();
  });

  it('keeps private stores per instance and shares named scopes', async () => {
    const state = new MemoryPluginState();
    const { host, people, crm } = await contexts(state);
    await people.store().put('k', 'private to people');
    await crm.store().put('k', 'private to crm');
    await crm.store('crm-db').put('rev:1', 'written by the sink');
    assert.equal(await people.store().get('k'), 'private to people');
    assert.equal(await people.store('crm-db').get('rev:1'), 'written by the sink');
    assert.deepEqual(state.scopes().sort(), ['shared:crm-db', 'sink:crm', 'source:people']);
    await people.store().delete('k');
    assert.equal(await people.store().get('k'), undefined);
    assert.throws(() => people.store(''), /must not be empty/);
    await host.stop();
  });

  it('lists store entries by prefix, in key order, across pages', async () => {
    const state = new MemoryPluginState();
    const { host, people } = await contexts(state);
    const store = people.store();
    const keys = Array.from({ length: 250 }, (_, i) => `hash:${String(i).padStart(3, '0')}`);
    for (const key of [...keys].reverse()) await store.put(key, key.toUpperCase());
    await store.put('other', 'x');
    const listed: string[] = [];
    for await (const [key, value] of store.entries('hash:')) {
      assert.equal(value, key.toUpperCase());
      listed.push(key);
    }
    assert.deepEqual(listed, keys);
    await host.stop();
  });

  it('aborts the instance’s signal when the host stops', async () => {
    const { host, people } = await contexts(new MemoryPluginState());
    assert.equal(people.signal.aborted, false);
    await host.stop();
    assert.equal(people.signal.aborted, true);
  });

  it('names store scopes so that no instance can reach a shared one by its name', () => {
    assert.equal(storeScope('source', 'people'), 'source:people');
    assert.equal(storeScope('source', 'people', 'people'), 'shared:people');
  });
});

describe('kvPluginStore', () => {
  it('commits the writes of one tick in one transaction, and a read sees them', async () => {
    const state = new MemoryPluginState();
    let transactions = 0;
    const counted = Object.assign(state, {
      transaction<T>(fn: () => T): T {
        transactions++;
        return fn();
      },
    });
    const store = kvPluginStore(counted, 'sink:couch');
    await Promise.all(Array.from({ length: 50 }, (_, i) => store.put(`rev:${i}`, String(i))));
    assert.equal(transactions, 1, 'fifty puts of one bulk write, one commit');
    void store.put('late', 'x');
    assert.equal(await store.get('late'), 'x');
    assert.equal(await store.get('rev:49'), '49');
  });
});
