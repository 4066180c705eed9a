import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { formatCsn, serializeEntry } from '../../../src/format/index.js';
import type { Entry } from '../../../src/format/model.js';
import { Applier } from '../../../src/pipeline/applier.js';
import type { CollisionPolicy } from '../../../src/pipeline/key-collision.js';
import { MemorySink, MemorySource } from '../../support/memory-plugins.js';
import { capturePipeline, silentLogger } from '../../support/pipeline-fixture.js';
import { csn, objectEntry, stringField } from '../../support/entries.js';

/**
 * Two objects created independently on two masters under one natural key (the same memory key,
 * as two CouchDB databases would get the same _id) meet on this replica.
 */
describe('key collisions', () => {
  const ours = 'urn:uuid:aaaaaaaa-0000-4000-8000-000000000001';
  const theirs = 'urn:uuid:bbbbbbbb-0000-4000-8000-000000000002';
  const keys = [{ scheme: 'test-id', value: 'n1' }];
  let pipeline: ReturnType<typeof capturePipeline> | undefined;
  afterEach(() => pipeline?.close());

  function replica(policy: CollisionPolicy) {
    pipeline = capturePipeline({ replica: 2, linkedSinks: new Map([['mem', 'out']]) });
    const source = new MemorySource();
    const sink = new MemorySink();
    sink.feed = source;
    const applier = new Applier({
      subscription: 'from-one',
      sinkName: 'out',
      sink,
      linkedSource: 'mem',
      collisions: policy,
      store: pipeline.store,
      serialize: serializeEntry,
      logger: silentLogger,
    });
    let consumed = 0;
    const capture = (p: NonNullable<typeof pipeline>): readonly Entry[] => {
      const before = p.store.lastOutboundSeq();
      p.capture.commit('mem', { changes: source.history.slice(consumed), checkpoint: String((consumed = source.history.length)) });
      return p.feed(before).entries;
    };
    return { store: pipeline.store, sink, applier, capture: () => capture(pipeline as NonNullable<typeof pipeline>) };
  }

  const remote = (at: string, fields: [string, string][]): Entry =>
    objectEntry({ id: theirs, csn: at, keys, fields: fields.map(([name, value]) => stringField(name, value, at)) });
  /** A CSN of another master, `ms` after now. */
  const soon = (ms: number): string => formatCsn({ time: BigInt(Date.now() + ms) * 1000n, counter: 0, replica: 1, mod: 0 });

  it('"merge": one object under the older global id, parts merged by CSN, the collision recorded', async () => {
    const r = replica('merge');
    r.sink.write('n1', ours, 'note', { a: ['mine'] }); // created here first (CSN now)
    r.capture();
    await r.applier.apply([remote(soon(1000), [['b', 'theirs']])], new AbortController().signal);
    assert.deepEqual(r.sink.objects.get('n1')?.fields, { a: ['mine'], b: ['theirs'] });
    assert.equal(r.sink.objects.size, 1);
    const [collision] = r.store.listConflicts();
    assert.equal(collision?.kind, 'collision');
    assert.equal(collision?.details['other'], ours);
    assert.deepEqual(r.capture(), [], 'the merged write is not a local change');
    await r.applier.apply([remote(soon(2000), [['b', 'again']])], new AbortController().signal);
    assert.deepEqual(r.sink.objects.get('n1')?.fields, { a: ['mine'], b: ['again'] }, 'their id now names our object');
  });

  it('"rename": the newer arriving object gets a key of its own, the same on every replica', async () => {
    const r = replica('rename');
    r.sink.write('n1', ours, 'note', { a: ['mine'] });
    r.capture();
    await r.applier.apply([remote(soon(1000), [['b', 'theirs']])], new AbortController().signal);
    assert.deepEqual(r.sink.objects.get('n1')?.fields, { a: ['mine'] });
    assert.deepEqual(r.sink.objects.get('n1~bbbbbbbb')?.fields, { b: ['theirs'] });
    assert.equal(r.store.countConflicts('collision'), 1);
  });

  it('"rename": our newer object moves to its own key when the older arrives', async () => {
    const r = replica('rename');
    r.sink.write('n1', ours, 'note', { a: ['mine'] });
    r.capture();
    // Their object was created before ours (an older CSN).
    await r.applier.apply([remote(csn(1), [['b', 'theirs']])], new AbortController().signal);
    assert.deepEqual(r.sink.objects.get('n1')?.fields, { b: ['theirs'] }, 'the older keeps the key, without our parts');
    assert.deepEqual(r.sink.objects.get('n1~aaaaaaaa')?.fields, { a: ['mine'] });
    assert.equal(r.store.countConflicts('collision'), 1);
  });
});
