import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BoundedQueue } from '../../../src/pipeline/bounded-queue.js';
import { Backoff } from '../../../src/pipeline/backoff.js';

describe('bounded queue', () => {
  it('makes the producer wait when full and releases it as items are taken', async () => {
    const queue = new BoundedQueue<number>(2);
    await queue.push(1);
    await queue.push(2);
    let third = false;
    const pushing = queue.push(3).then(() => {
      third = true;
    });
    await Promise.resolve();
    assert.equal(third, false, 'a full queue holds the producer back');
    assert.equal(queue.size, 2);
    const iterator = queue[Symbol.asyncIterator]();
    assert.deepEqual(await iterator.next(), { value: 1, done: false });
    await pushing;
    assert.equal(third, true);
    queue.close();
    assert.deepEqual((await iterator.next()).value, 2);
    assert.deepEqual((await iterator.next()).value, 3);
    assert.equal((await iterator.next()).done, true);
  });

  it('hands an item straight to a waiting consumer', async () => {
    const queue = new BoundedQueue<string>(1);
    const iterator = queue[Symbol.asyncIterator]();
    const next = iterator.next();
    await queue.push('x');
    assert.deepEqual(await next, { value: 'x', done: false });
  });

  it('gives up a waiting push when its signal aborts', async () => {
    const queue = new BoundedQueue<number>(1);
    await queue.push(1);
    const controller = new AbortController();
    const pushing = queue.push(2, controller.signal);
    controller.abort();
    await assert.rejects(pushing);
    assert.equal(queue.size, 1);
  });
});

describe('backoff', () => {
  it('grows exponentially up to the cap, with jitter within [half, full] of the ceiling', () => {
    const low = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0 });
    const high = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 1 });
    assert.deepEqual([1, 2, 3, 4, 5].map(() => low.next()), [50, 100, 200, 400, 500]);
    assert.deepEqual([1, 2, 3, 4, 5].map(() => high.next()), [100, 200, 400, 800, 1000]);
    high.reset();
    assert.equal(high.next(), 100);
  });
});
