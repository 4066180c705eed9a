import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { Source, SourceBatch, SourceChange } from '../../../src/plugin-api/index.js';
import { runSource } from '../../../src/pipeline/source-runner.js';
import { MemorySource } from '../../support/memory-plugins.js';
import { capturePipeline, silentLogger } from '../../support/pipeline-fixture.js';

function note(id: string): SourceChange {
  return { op: 'upsert', keys: [{ scheme: 'test-id', value: id }], type: 'note', fields: [{ name: 'text', type: 'string', values: [id] }] };
}

const fixtures: { close(): void }[] = [];
after(() => fixtures.forEach((f) => f.close()));

function pipeline(): ReturnType<typeof capturePipeline> {
  const p = capturePipeline();
  fixtures.push(p);
  return p;
}

/** A source that marks its last available batch (SourceBatch.caughtUp), then waits for the abort. */
class MarkingSource implements Source {
  constructor(private readonly batches: SourceBatch[]) {}
  starts = 0;
  async *start(_from: string | undefined, signal: AbortSignal): AsyncIterable<SourceBatch> {
    this.starts++;
    yield* this.batches;
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
  }
}

/** How `pubsync sync --once` runs a source: until it has nothing more right now. */
describe('runSource untilCaughtUp (sync --once)', () => {
  it('stops at the batch marked caughtUp, with that batch committed, however long the quiet period', async () => {
    const p = pipeline();
    const source = new MarkingSource([
      { changes: [note('n1'), note('n2')], checkpoint: '2' },
      { changes: [note('n3')], checkpoint: '3', caughtUp: true },
      { changes: [note('never')], checkpoint: '4' },
    ]);
    await runSource({ name: 'app', source, capture: p.capture, store: p.store, logger: silentLogger, signal: new AbortController().signal, untilCaughtUp: { quietMs: 600_000 } });
    assert.equal(p.store.getCheckpoint('app'), '3');
    assert.equal(p.store.outboundDepth(), 3);
  });

  it('a source that marks nothing is caught up once it yielded nothing for quietMs', async () => {
    const p = pipeline();
    const source = new MemorySource();
    source.add(note('n1'), note('n2'), note('n3'));
    await runSource({ name: 'app', source, capture: p.capture, store: p.store, logger: silentLogger, signal: new AbortController().signal, untilCaughtUp: { quietMs: 50 } });
    assert.equal(p.store.getCheckpoint('app'), '3', 'every batch it had was committed before it went quiet');
    assert.equal(p.store.outboundDepth(), 3);
  });

  it('a failure rejects instead of restarting the source (the sync reports it)', async () => {
    const p = pipeline();
    const source = new MemorySource();
    source.add(note('n1'), note('n2'), note('n3'));
    source.failAt = 2;
    await assert.rejects(
      runSource({ name: 'app', source, capture: p.capture, store: p.store, logger: silentLogger, signal: new AbortController().signal, untilCaughtUp: { quietMs: 600_000 } }),
      /application went away/,
    );
    assert.equal(source.starts.length, 1, 'not restarted');
    assert.equal(p.store.getCheckpoint('app'), '2', 'what came before the failure stays committed');
  });

  it('the outer signal still stops it', async () => {
    const p = pipeline();
    const controller = new AbortController();
    const running = runSource({ name: 'app', source: new MemorySource(), capture: p.capture, store: p.store, logger: silentLogger, signal: controller.signal, untilCaughtUp: { quietMs: 600_000 } });
    controller.abort();
    await running;
    assert.equal(p.store.getCheckpoint('app'), undefined);
  });
});
