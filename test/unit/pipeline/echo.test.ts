import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { CsnClock, serializeEntry } from '../../../src/format/index.js';
import type { Entry } from '../../../src/format/model.js';
import { Applier } from '../../../src/pipeline/applier.js';
import { SinkLock } from '../../../src/pipeline/sink-lock.js';
import { SinkWrites } from '../../../src/pipeline/sink-writes.js';
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

  let writes: SinkWrites;
  let lock: SinkLock;

  const applierOf = (subscription: string): Applier =>
    new Applier({ subscription, sinkName: 'out', sink, linkedSource: 'mem', writes, lock, store: pipeline.store, serialize: serializeEntry, logger: silentLogger });

  beforeEach(() => {
    pipeline = capturePipeline({
      replica: 2,
      linkedSinks: new Map([['mem', 'out']]),
      writes: (store) => new Map([['mem', new SinkWrites(store, 'mem')]]),
    });
    writes = pipeline.writes?.get('mem') as SinkWrites;
    lock = new SinkLock();
    source = new MemorySource();
    sink = new MemorySink();
    sink.feed = source;
    applier = applierOf('from-one');
    consumed = 0;
  });
  afterEach(() => pipeline.close());

  /** Hands what the application reported since the last call to capture; returns what got logged. */
  function capture(caughtUp = false): readonly Entry[] {
    // As the source runner does: the sink's write count when the batch is read.
    const readAt = writes.epoch;
    const changes = source.history.slice(consumed);
    consumed = source.history.length;
    const before = pipeline.store.lastOutboundSeq();
    pipeline.capture.commit('mem', { changes, checkpoint: String(consumed), ...(caughtUp ? { caughtUp } : {}) }, readAt);
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

  it('carries a field removed earlier in every later entry, with the CSN of its removal', async () => {
    await applier.apply([remote(10, [['a', 'x', 10], ['b', 'y', 10]])], new AbortController().signal);
    capture();
    // An application that reports only the fields an object has (a CouchDB document, an LDAP entry).
    const report = (a: string): void => source.add({ op: 'upsert', keys, globalId: id, type: 'note', fields: [{ name: 'a', type: 'string', values: [a] }] });
    report('x');
    const [removal] = capture();
    const removedAt = removal && !removal.deleted ? removal.fields.find((f) => f.name === 'b')?.csn : undefined;
    assert.ok(removedAt !== undefined && removedAt > csn(10, 1), 'the removal is published');
    report('later');
    const [entry] = capture();
    assert.ok(entry && !entry.deleted);
    // A peer that gets only this entry (a snapshot, a compacted log) must still drop its older b.
    assert.deepEqual(
      entry.fields.find((f) => f.name === 'b'),
      { name: 'b', type: 'string', csn: removedAt, values: [] },
    );
    assert.deepEqual(entry.changed, ['a']);
  });

  it('publishes a local change back to the value the sink last wrote, and does not write over it', async () => {
    await applier.apply([remote(10, [['a', 'x', 10]])], new AbortController().signal);
    capture();
    // A peer removes a; then the application sets it and removes it again, each captured in turn.
    await applier.apply([objectEntry({ id, csn: csn(20, 1), keys, fields: [stringField('a', [], csn(20, 1))] })], new AbortController().signal);
    assert.deepEqual(capture(), [], 'the echo of the removal');
    pipeline.clock.observe(csn(30, 1));
    sink.write('n1', id, 'note', { a: ['mine'] });
    assert.equal(capture().length, 1);
    sink.write('n1', id, 'note', { a: [] });
    const [unset] = capture();
    assert.ok(unset && !unset.deleted, 'the removal is a local change');
    assert.deepEqual(unset.fields.find((f) => f.name === 'a')?.values, []);
    assert.deepEqual(pipeline.capture.takeOvertaken('mem'), [], 'nothing to write back');
  });

  it('tells a state its source never reported (a feed of current states) from a later change back to it', async () => {
    // The application reports an object's current state when its source reads, as CouchDB's _changes does.
    sink.feed = undefined;
    const report = (a: string): void => source.add({ op: 'upsert', keys, globalId: id, type: 'note', fields: [{ name: 'a', type: 'string', values: [a] }] });
    await applier.apply([remote(10, [['a', 'x', 10]])], new AbortController().signal);
    // The user changed a before the source read: the state the sink wrote is never reported.
    report('y');
    assert.equal(capture(true).length, 1);
    report('x');
    const [entry] = capture(true);
    assert.ok(entry && !entry.deleted, 'setting a back to what the sink once wrote is a change of the application');
    assert.deepEqual(entry.fields.find((f) => f.name === 'a')?.values, ['x']);
  });

  it('drops the parts older than a delete it missed, when a later revision carries that delete', async () => {
    await applier.apply([remote(10, [['a', 'x', 10], ['b', 'y', 10]])], new AbortController().signal);
    capture();
    // Deleted at 20 and re-created at 30 elsewhere; this replica gets only the re-creation (a snapshot).
    const revived = { ...remote(30, [['a', 'z', 30]]), tombstone: csn(20, 1) };
    await applier.apply([revived], new AbortController().signal);
    assert.deepEqual(sink.objects.get('n1')?.fields, { a: ['z'] }, 'b, older than the delete, is gone');
    assert.equal(pipeline.store.getApplied('out', id)?.tombstone, csn(20, 1));
    assert.deepEqual(capture(), [], 'applying the delete and the revision is no local change');
    // A late revision from before that delete changes nothing.
    const report = await applier.apply([remote(15, [['b', 'late', 15]])], new AbortController().signal);
    assert.equal(report.skipped, 1);
  });

  it('publishes the entries of an object deleted and re-created here with the CSN of that delete', async () => {
    await applier.apply([remote(10, [['a', 'x', 10]])], new AbortController().signal);
    capture();
    sink.remove('n1', id, 'note');
    const [deleted] = capture();
    assert.ok(deleted?.deleted, 'the delete is published');
    sink.write('n1', id, 'note', { b: ['again'] });
    const [revived] = capture();
    assert.ok(revived && !revived.deleted);
    assert.equal(revived.tombstone, deleted.csn, 'a peer that missed the delete learns it from the re-creation');
  });

  it('publishes an object re-created where our sink deleted one as that object, though the application gave it a new id', async () => {
    await applier.apply([remote(10, [['a', 'x', 10]])], new AbortController().signal);
    capture();
    await applier.apply([tombstone(id, csn(11, 1))], new AbortController().signal);
    assert.deepEqual(capture(), [], 'the echo of the delete');
    // A directory user adds an entry at the same DN: the server gives it an entryUUID of its own.
    sink.feed = undefined;
    source.add({ op: 'upsert', keys: [{ scheme: 'test-uuid', value: 'u2' }, ...keys], globalId: 'urn:uuid:0b7e4f0e-2a51-4c0e-9d49-6a0a4bb1f998', type: 'note', fields: [{ name: 'b', type: 'string', values: ['new'] }] });
    const [revived] = capture();
    assert.ok(revived && !revived.deleted, 'the re-creation is published');
    assert.equal(revived.id, id, 'under the id the peers know the key by');
    assert.equal(revived.tombstone, csn(11, 1), 'newer than the delete it outlives');
  });

  it('leaves an object the application changed since, when a peer deletes it: the change brings it back', async () => {
    await applier.apply([remote(10, [['a', 'x', 10], ['b', 'y', 10]])], new AbortController().signal);
    capture();
    sink.write('n1', id, 'note', { a: ['mine'] });
    // The peer's delete arrives before the source reported the edit.
    await applier.apply([tombstone(id, csn(20, 1))], new AbortController().signal);
    assert.deepEqual(sink.objects.get('n1')?.fields, { a: ['mine'] }, 'the edit is not deleted unseen; b, older than the delete, goes');
    const [edit] = capture();
    assert.ok(edit && !edit.deleted, 'the edit is published, newer than the delete');
    assert.deepEqual(edit.fields.find((f) => f.name === 'a')?.values, ['mine']);
    assert.equal(edit.tombstone, csn(20, 1));
  });

  it('publishes a local edit read just before a peer delete that the application outlived', async () => {
    await applier.apply([remote(10, [['a', 'x', 10], ['b', 'y', 10]])], new AbortController().signal);
    capture();
    sink.write('n1', id, 'note', { a: ['mine'] });
    // The source reads the edit; then the delete is applied before the read is committed. The
    // sink's own writes are not reported (an LDAP source skips the replicator's changes).
    const readAt = writes.epoch;
    const changes = source.history.slice(consumed);
    consumed = source.history.length;
    sink.feed = undefined;
    await applier.apply([tombstone(id, csn(20, 1))], new AbortController().signal);
    assert.deepEqual(sink.objects.get('n1')?.fields, { a: ['mine'] }, 'the sink left the edited part');
    const before = pipeline.store.lastOutboundSeq();
    pipeline.capture.commit('mem', { changes, checkpoint: String(consumed) }, readAt);
    const [edit] = pipeline.feed(before).entries;
    assert.ok(edit && !edit.deleted, 'the edit is published, not taken for the echo of the delete');
    assert.deepEqual(edit.fields.find((f) => f.name === 'a')?.values, ['mine']);
  });

  it('publishes a user delete after the sink deleted and re-created the object, when the source never reports the sink writes', async () => {
    pipeline.close();
    pipeline = capturePipeline({ replica: 2, linkedSinks: new Map([['mem', 'out']]), writes: (store) => new Map([['mem', new SinkWrites(store, 'mem', { echoes: false })]]) });
    writes = pipeline.writes?.get('mem') as SinkWrites;
    applier = applierOf('from-one');
    // As the ldap source with replicatorDn: the sink's writes never show in the source.
    sink.feed = undefined;
    await applier.apply([remote(10, [['a', 'x', 10]])], new AbortController().signal);
    await applier.apply([tombstone(id, csn(11, 1))], new AbortController().signal);
    await applier.apply([remote(12, [['a', 'y', 12]])], new AbortController().signal);
    sink.objects.delete('n1');
    source.add({ op: 'delete', keys, type: 'note' });
    const [entry] = capture();
    assert.ok(entry?.deleted, 'the user delete is published, not taken for the late echo of the sink delete');
    assert.equal(entry.id, id);
  });

  it('publishes a local edit read just before a peer write of that part which the sink left', async () => {
    await applier.apply([remote(10, [['a', 'x', 10], ['b', 'y', 10]])], new AbortController().signal);
    capture();
    sink.write('n1', id, 'note', { a: ['mine'] });
    const readAt = writes.epoch;
    const changes = source.history.slice(consumed);
    consumed = source.history.length;
    // As an LDAP source: the sink's own write is never reported.
    sink.feed = undefined;
    await applier.apply([remote(20, [['a', 'peer', 20], ['b', 'y', 10]])], new AbortController().signal);
    assert.deepEqual(sink.objects.get('n1')?.fields, { a: ['mine'], b: ['y'] }, 'the sink left the edited part');
    const before = pipeline.store.lastOutboundSeq();
    pipeline.capture.commit('mem', { changes, checkpoint: String(consumed) }, readAt);
    const [edit] = pipeline.feed(before).entries;
    assert.ok(edit && !edit.deleted, 'the edit is published, not taken for a value the sink wrote over');
    assert.deepEqual(edit.fields.find((f) => f.name === 'a')?.values, ['mine']);
  });

  it('publishes a delete the application made just before a peer delete of the same object', async () => {
    await applier.apply([remote(10, [['a', 'x', 10]])], new AbortController().signal);
    capture();
    sink.remove('n1', id, 'note');
    // The peer's delete arrives before the source reported the application's own.
    await applier.apply([tombstone(id, csn(11, 1))], new AbortController().signal);
    const [deleted] = capture();
    assert.ok(deleted?.deleted, 'the application delete is published, not taken for the echo of the peer one');
    assert.equal(deleted.id, id);
  });

  it('publishes an edit of an object our sink wrote under the peer id, after a delete it outlived, though the application has an id of its own', async () => {
    const own = { op: 'upsert' as const, keys: [{ scheme: 'test-uuid', value: 'u1' }, ...keys], globalId: 'urn:uuid:0b7e4f0e-2a51-4c0e-9d49-6a0a4bb1f997', type: 'note' };
    sink.feed = undefined;
    await applier.apply([remote(10, [['a', 'x', 10], ['b', 'y', 10]])], new AbortController().signal);
    // The application reports the sink's write under its own id for the object (an entryUUID).
    source.add({ ...own, fields: [{ name: 'a', type: 'string', values: ['x'] }, { name: 'b', type: 'string', values: ['y'] }] });
    assert.deepEqual(capture(), [], 'the echo of the apply');
    sink.write('n1', id, 'note', { b: ['z'] });
    source.add({ ...own, fields: [{ name: 'a', type: 'string', values: ['x'] }, { name: 'b', type: 'string', values: ['z'] }] });
    assert.equal(capture()[0]?.id, id, 'a local edit goes by the peer id');
    sink.write('n1', id, 'note', { a: ['mine'] });
    // A peer's delete newer than the local edit captured above (stamped by the clock, now).
    await applier.apply([tombstone(id, new CsnClock({ replica: 1 }).next())], new AbortController().signal);
    assert.deepEqual(sink.objects.get('n1')?.fields, { a: ['mine'] }, 'the delete left the edit it had not seen');
    source.add({ ...own, fields: [{ name: 'a', type: 'string', values: ['mine'] }] });
    const [edit] = capture();
    assert.ok(edit && !edit.deleted, 'the edit outlives the delete');
    assert.equal(edit.id, id, 'under the id the peers know the object by');
  });

  it('publishes a delete with the type the object was last published with', async () => {
    await applier.apply([remote(10, [['a', 'x', 10]])], new AbortController().signal);
    capture();
    sink.write('n1', id, 'note', { a: ['mine'] });
    assert.equal(capture()[0]?.type, 'note');
    // Like a CouchDB tombstone, the source's delete knows no type of its own.
    source.add({ op: 'delete', keys, globalId: id, type: 'document' });
    const [deleted] = capture();
    assert.ok(deleted?.deleted);
    assert.equal(deleted.type, 'note', "the peers' stylesheets match deletes on the type they know");
  });

  it('decides each subscription batch against what the other subscriptions of the sink wrote', async () => {
    await applier.apply([remote(10, [['a', 'x', 10]])], new AbortController().signal);
    capture();
    // Two peers at once: one deleted the object, the other edited it after that delete.
    const other = applierOf('from-two');
    await Promise.all([
      applier.apply([tombstone(id, csn(20, 1))], new AbortController().signal),
      other.apply([remote(30, [['a', 'edited', 30]])], new AbortController().signal),
    ]);
    assert.deepEqual(sink.objects.get('n1')?.fields, { a: ['edited'] }, 'the newer edit lives on');
    assert.equal(pipeline.store.getApplied('out', id)?.tombstone, csn(20, 1), 'the delete is recorded too');
  });
});
