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

/** Yields its batches, then waits for the abort, as a change feed with nothing new does. */
class ListSource implements Source {
  constructor(private readonly batches: SourceBatch[]) {}
  async *start(_from: string | undefined, signal: AbortSignal): AsyncIterable<SourceBatch> {
    yield* this.batches;
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
  }
}

/** What the daemon waits for before a linked sink applies anything: the source read what there was. */
describe('runSource onCaughtUp', () => {
  async function whenCaughtUp(source: Source, quietMs: number): Promise<{ checkpoint: string | undefined; stillRunning: boolean }> {
    const p = capturePipeline();
    fixtures.push(p);
    const controller = new AbortController();
    let finished = false;
    const reached = new Promise<string | undefined>((resolve) => {
      const running = runSource({
        name: 'app',
        source,
        capture: p.capture,
        store: p.store,
        logger: silentLogger,
        signal: controller.signal,
        onCaughtUp: { quietMs, reached: () => resolve(p.store.getCheckpoint('app')) },
      });
      void running.then(() => (finished = true));
    });
    const checkpoint = await reached;
    const stillRunning = !finished;
    controller.abort();
    return { checkpoint, stillRunning };
  }

  it('is told at the batch marked caughtUp, once it is committed, and the source goes on', async () => {
    const source = new ListSource([
      { changes: [note('n1')], checkpoint: '1' },
      { changes: [note('n2')], checkpoint: '2', caughtUp: true },
    ]);
    assert.deepEqual(await whenCaughtUp(source, 600_000), { checkpoint: '2', stillRunning: true });
  });

  it('is told after quietMs without a batch, for a source that marks nothing', async () => {
    const source = new MemorySource();
    source.add(note('n1'), note('n2'), note('n3'));
    assert.deepEqual(await whenCaughtUp(source, 50), { checkpoint: '3', stillRunning: true });
  });

  it('takes an empty batch for caught up (a poll that found nothing)', async () => {
    const source = new ListSource([
      { changes: [note('n1')], checkpoint: '1' },
      { changes: [], checkpoint: '1' },
    ]);
    assert.deepEqual(await whenCaughtUp(source, 600_000), { checkpoint: '1', stillRunning: true });
  });
});
