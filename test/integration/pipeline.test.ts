import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { UpsertChange } from '../../src/plugin-api/index.js';
import { Applier } from '../../src/pipeline/applier.js';
import { InboundChannel } from '../../src/pipeline/inbound-channel.js';
import { runSource } from '../../src/pipeline/source-runner.js';
import { Backoff } from '../../src/pipeline/backoff.js';
import { serializeEntry } from '../../src/format/index.js';
import type { ObjectEntry } from '../../src/format/model.js';
import { MemorySink, MemorySource } from '../support/memory-plugins.js';
import { allNode, capturePipeline, silentLogger } from '../support/pipeline-fixture.js';

function note(id: string, fields: Record<string, string>, type = 'note'): UpsertChange {
  return {
    op: 'upsert',
    keys: [{ scheme: 'test-id', value: id }],
    type,
    tags: ['demo'],
    fields: Object.entries(fields).map(([name, value]) => ({ name, type: 'string', values: [value] })),
  };
}

const fixtures: { close(): void }[] = [];
after(() => fixtures.forEach((f) => f.close()));

function pipeline(...args: Parameters<typeof capturePipeline>) {
  const p = capturePipeline(...args);
  fixtures.push(p);
  return p;
}

describe('outbound: source, capture, route, log', () => {
  it('logs each change with per-field CSNs and the fields it changed, and commits the checkpoint with it', () => {
    const a = pipeline({ nodes: [allNode('notes'), { ...allNode('demo-only'), route: { tags: ['other'] } }] });
    a.capture.commit('app', { changes: [note('n1', { title: 'hello', body: 'first' })], checkpoint: '1' });
    a.capture.commit('app', { changes: [note('n1', { title: 'hello', body: 'second' })], checkpoint: '2' });
    assert.equal(a.store.getCheckpoint('app'), '2');

    const records = a.store.readOutbound(0n, 10);
    assert.equal(records.length, 2);
    assert.deepEqual(records.map((r) => r.nodes), [['notes'], ['notes']]);
    const [created, updated] = a.feed().entries as ObjectEntry[];
    assert.ok(created && updated);
    assert.equal(created.id, updated.id, 'the global id is stable across revisions');
    assert.match(created.id, /^urn:uuid:[0-9a-f-]{36}$/);
    assert.deepEqual(updated.changed, ['body']);
    const csnOf = (e: ObjectEntry, name: string) => e.fields.find((f) => f.name === name)?.csn;
    assert.equal(csnOf(updated, 'title'), csnOf(created, 'title'), 'an unchanged field keeps its CSN');
    assert.ok(csnOf(updated, 'body')! > csnOf(created, 'body')!, 'a changed field gets the new CSN');
  });

  it('captures nothing for a change that changes nothing, but still moves the checkpoint', () => {
    const a = pipeline();
    a.capture.commit('app', { changes: [note('n1', { title: 'x' })], checkpoint: '1' });
    const again = a.capture.commit('app', { changes: [note('n1', { title: 'x' })], checkpoint: '2' });
    assert.equal(again.length, 0);
    assert.equal(a.store.outboundDepth(), 1);
    assert.equal(a.store.getCheckpoint('app'), '2');
  });

  it('turns a delete into a tombstone with the same identity, and a removed field into an empty one', () => {
    const a = pipeline();
    a.capture.commit('app', { changes: [note('n1', { title: 'x', colour: 'red' })], checkpoint: '1' });
    a.capture.commit('app', { changes: [note('n1', { title: 'x' })], checkpoint: '2' });
    a.capture.commit('app', { changes: [{ op: 'delete', keys: [{ scheme: 'test-id', value: 'n1' }], type: 'note' }], checkpoint: '3' });
    const [created, trimmed, deleted] = a.feed().entries;
    assert.equal(trimmed?.deleted, false);
    assert.deepEqual(trimmed?.deleted === false && trimmed.fields.find((f) => f.name === 'colour')?.values, []);
    assert.equal(deleted?.deleted, true);
    assert.equal(deleted?.id, created?.id);
    assert.deepEqual(deleted?.keys, [{ scheme: 'test-id', value: 'n1' }]);
  });

  it('sends a tombstone to every node the object was last published to, tag nodes included', () => {
    const a = pipeline({
      nodes: [
        { ...allNode('tag/demo'), route: { tags: ['demo'] } },
        { ...allNode('approved'), route: { where: [{ field: 'approved', equals: 'yes' }] } },
      ],
    });
    a.capture.commit('app', { changes: [note('n1', { approved: 'yes' })], checkpoint: '1' });
    a.capture.commit('app', { changes: [{ op: 'delete', keys: [{ scheme: 'test-id', value: 'n1' }], type: 'note' }], checkpoint: '2' });
    const [created, deleted] = a.store.readOutbound(0n, 10);
    assert.deepEqual(created?.nodes, ['tag/demo', 'approved']);
    assert.deepEqual(deleted?.nodes, ['tag/demo', 'approved']);
  });

  it('restarts a failing source from its last committed checkpoint: nothing lost, nothing twice', async () => {
    const a = pipeline();
    const source = new MemorySource();
    for (let i = 0; i < 7; i++) source.add(note(`n${i}`, { v: String(i) }));
    source.failAt = 4;
    const controller = new AbortController();
    const running = runSource({
      name: 'app',
      source,
      capture: a.capture,
      store: a.store,
      logger: silentLogger,
      signal: controller.signal,
      backoff: new Backoff({ initialMs: 1, maxMs: 1 }),
      onCaptured: () => {
        if (a.store.getCheckpoint('app') === '7') controller.abort();
      },
    });
    await running;
    assert.deepEqual(source.starts, [undefined, '4']);
    const keys = a.feed().entries.map((e) => e.keys[0]?.value);
    assert.deepEqual(keys, ['n0', 'n1', 'n2', 'n3', 'n4', 'n5', 'n6']);
  });
});

describe('inbound: verify, merge, sink, mark applied', () => {
  function subscriber(sink = new MemorySink(), capacity = 4) {
    const b = pipeline({ jid: 'b@localhost', replica: 2 });
    const applier = new Applier({
      subscription: 'from-a',
      sinkName: 'notes',
      sink,
      store: b.store,
      serialize: serializeEntry,
      logger: silentLogger,
    });
    const controller = new AbortController();
    const channel = new InboundChannel({
      subscription: 'from-a',
      applier,
      store: b.store,
      serialize: serializeEntry,
      logger: silentLogger,
      capacity,
      backoff: new Backoff({ initialMs: 1, maxMs: 2 }),
    });
    channel.start(controller.signal);
    return { b, sink, channel, controller };
  }

  it('applies what a peer published, minimally, and records the high-water mark', async () => {
    const a = pipeline();
    a.capture.commit('app', { changes: [note('n1', { title: 'hello', body: 'one' }), note('n2', { title: 'two' })], checkpoint: '1' });
    const { b, sink, channel } = subscriber();
    await channel.receive(a.feed());
    a.capture.commit('app', { changes: [note('n1', { title: 'hello', body: 'changed' })], checkpoint: '2' });
    await channel.receive(a.feed(2n));
    await channel.drain();

    assert.deepEqual(sink.objects.get('n1')?.fields, { title: ['hello'], body: ['changed'] });
    assert.deepEqual(sink.calls.at(-1)?.[0]?.fields, ['body'], 'only the changed field is written');
    assert.equal(b.store.getHighWater('from-a', 'a@localhost'), 3n);
  });

  it('is idempotent: a replayed batch changes nothing', async () => {
    const a = pipeline();
    a.capture.commit('app', { changes: [note('n1', { title: 'x' })], checkpoint: '1' });
    const { sink, channel } = subscriber();
    await channel.receive(a.feed());
    await channel.receive(a.feed());
    await channel.drain();
    assert.equal(sink.objects.get('n1')?.writes, 1);
    assert.equal(sink.calls.length, 1);
  });

  it('dead-letters a refused entry and an entry claiming another origin; the rest of the batch lands', async () => {
    const a = pipeline();
    a.capture.commit('app', { changes: [note('bad', { x: '1' }, 'refused'), note('good', { x: '2' })], checkpoint: '1' });
    const { b, sink, channel } = subscriber();
    const batch = a.feed();
    const forged = { ...batch.entries[1]!, id: 'urn:uuid:00000000-0000-4000-8000-000000000001', origin: { jid: 'mallory@localhost', replica: 9 } };
    await channel.receive({ ...batch, entries: [...batch.entries, forged] });
    await channel.drain();
    assert.ok(sink.objects.has('good'));
    assert.ok(!sink.objects.has('bad'));
    const letters = b.store.listDeadLetters();
    assert.deepEqual(letters.map((l) => l.code).sort(), ['PUBSYNC_ERR_FORMAT_INVALID', 'TEST_REFUSED']);
    assert.ok(letters.every((l) => l.where === 'subscription:from-a' && typeof l.payload === 'string'));
  });

  it('merges revisions of one object within a batch against each other, so an older one arriving last loses', async () => {
    const a = pipeline();
    a.capture.commit('app', { changes: [note('n1', { title: 'old' })], checkpoint: '1' });
    a.capture.commit('app', { changes: [note('n1', { title: 'new' })], checkpoint: '2' });
    const { sink, channel } = subscriber();
    const batch = a.feed();
    await channel.receive({ ...batch, entries: [...batch.entries].reverse() });
    await channel.drain();
    assert.deepEqual(sink.objects.get('n1')?.fields, { title: ['new'] });
    assert.equal(sink.calls.flat().length, 1, 'the older revision never reaches the sink');
  });

  it('retries a failing sink with backoff until it comes back, losing nothing', async () => {
    const a = pipeline();
    a.capture.commit('app', { changes: [note('n1', { title: 'x' })], checkpoint: '1' });
    const sink = new MemorySink();
    sink.failures = 3;
    const { channel } = subscriber(sink);
    await channel.receive(a.feed());
    await channel.drain();
    assert.equal(sink.failures, 0);
    assert.ok(sink.objects.has('n1'));
  });

  it('pushes back on the receiver when the sink is slow (bounded queue)', async () => {
    const a = pipeline();
    for (let i = 0; i < 4; i++) a.capture.commit('app', { changes: [note(`n${i}`, { v: '1' })], checkpoint: String(i) });
    const sink = new MemorySink();
    let open!: () => void;
    sink.gate = new Promise((resolve) => (open = resolve));
    const { channel } = subscriber(sink, 1);
    await channel.receive(a.feed(0n));
    await channel.receive(a.feed(1n)); // the worker holds the first; this one fills the queue
    let third = false;
    const pushing = channel.receive(a.feed(2n)).then(() => (third = true));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(third, false, 'the receiver waits while the queue is full');
    assert.equal(channel.depth, 1);
    open();
    await pushing;
    await channel.drain();
    assert.equal(sink.objects.size, 4);
  });
});
