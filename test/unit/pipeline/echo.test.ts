import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { serializeEntry } from '../../../src/format/index.js';
import type { Entry } from '../../../src/format/model.js';
import { Applier } from '../../../src/pipeline/applier.js';
import { MemorySink, MemorySource } from '../../support/memory-plugins.js';
import { capturePipeline, silentLogger } from '../../support/pipeline-fixture.js';
import { csn, objectEntry, stringField, tombstone } from '../../support/entries.js';

/**
 * One application (a memory sink whose writes show in its source) under one replica: what the
 * core applies for a peer comes back through the source, and must not be published again.
 */
describe('a sink linked to the source of the same application', () => {
  const id = 'urn:uuid:0b7e4f0e-2a51-4c0e-9d49-6a0a4bb1f001';
  const keys = [{ scheme: 'test-id', value: 'n1' }];
  let pipeline: ReturnType<typeof capturePipeline>;
  let source: MemorySource;
  let sink: MemorySink;
  let applier: Applier;
  let consumed: number;

  beforeEach(() => {
    pipeline = capturePipeline({ replica: 2, linkedSinks: new Map([['mem', 'out']]) });
    source = new MemorySource();
    sink = new MemorySink();
    sink.feed = source;
    applier = new Applier({
      subscription: 'from-one',
      sinkName: 'out',
      sink,
      linkedSource: 'mem',
      store: pipeline.store,
      serialize: serializeEntry,
      logger: silentLogger,
    });
    consumed = 0;
  });
  afterEach(() => pipeline.close());

  /** Hands what the application reported since the last call to capture; returns what got logged. */
  function capture(): readonly Entry[] {
    const changes = source.history.slice(consumed);
    consumed = source.history.length;
    const before = pipeline.store.lastOutboundSeq();
    pipeline.capture.commit('mem', { changes, checkpoint: String(consumed) });
    return pipeline.feed(before).entries;
  }

  const remote = (at: number, fields: [string, string, number][]): Entry =>
    objectEntry({ id, csn: csn(at, 1), keys, fields: fields.map(([name, value, t]) => stringField(name, value, csn(t, 1))) });

  it('does not publish what it applied for a peer, nor the delete it applied', async () => {
    await applier.apply([remote(10, [['a', 'x', 10], ['b', 'y', 10]])], new AbortController().signal);
    assert.deepEqual(sink.objects.get('n1')?.fields, { a: ['x'], b: ['y'] });
    assert.deepEqual(capture(), [], 'the echo of the apply');

    await applier.apply([tombstone(id, csn(11, 1))], new AbortController().signal);
    assert.equal(sink.objects.has('n1'), false);
    assert.deepEqual(capture(), [], 'the echo of the delete');
  });

  it('publishes a delete the application makes of an object our sink wrote, under the peer id', async () => {
    await applier.apply([remote(10, [['a', 'x', 10]])], new AbortController().signal);
    capture();
    // The application reports the delete under its own id for the object (an LDAP entryUUID).
    sink.feed = undefined;
    sink.objects.delete('n1');
    source.add({ op: 'delete', keys, globalId: 'urn:uuid:0b7e4f0e-2a51-4c0e-9d49-6a0a4bb1f999', type: 'note' });
    const [entry] = capture();
    assert.ok(entry?.deleted, 'a tombstone');
    assert.equal(entry.id, id);
  });

  it('publishes a local edit with the peer CSNs of the fields it did not touch', async () => {
    await applier.apply([remote(10, [['a', 'x', 10], ['b', 'y', 10]])], new AbortController().signal);
    capture();
    sink.write('n1', id, 'note', { a: ['local'] });
    const [entry] = capture();
    assert.ok(entry && !entry.deleted);
    assert.equal(entry.id, id, 'the same object, under the peer global id');
    const byName = new Map(entry.fields.map((f) => [f.name, f]));
    assert.deepEqual(byName.get('a')?.values, ['local']);
    assert.ok((byName.get('a')?.csn ?? '') > csn(10, 1), 'the edit is newer');
    assert.equal(byName.get('b')?.csn, csn(10, 1), 'b keeps the CSN of the peer that wrote it');
    assert.deepEqual(entry.changed, ['a']);
  });

  it('lets a local change not yet published win over an older one from a peer', async () => {
    await applier.apply([remote(10, [['a', 'x', 10]])], new AbortController().signal);
    capture();
    pipeline.clock.observe(csn(30, 1));
    sink.write('n1', id, 'note', { a: ['mine'] });
    capture();
    // A peer's edit made before ours (CSN 20 < ours) arrives after it.
    const report = await applier.apply([remote(20, [['a', 'theirs', 20]])], new AbortController().signal);
    assert.equal(report.skipped, 1);
    assert.deepEqual(sink.objects.get('n1')?.fields, { a: ['mine'] });
  });

  it('keeps an object edited here after a peer deleted it, without the fields older than the delete', async () => {
    await applier.apply([remote(10, [['a', 'x', 10], ['b', 'y', 10]])], new AbortController().signal);
    capture();
    pipeline.clock.observe(csn(30, 1));
    sink.write('n1', id, 'note', { a: ['edited'] });
    capture();
    await applier.apply([tombstone(id, csn(20, 1))], new AbortController().signal);
    assert.deepEqual(sink.objects.get('n1')?.fields, { a: ['edited'] }, 'b, older than the delete, is gone');
    assert.deepEqual(capture(), [], 'removing b for the delete is not a local change');
  });
});
