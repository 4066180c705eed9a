import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createTestContext } from 'pubsync/testing';
import { EchoLog } from '../../../plugins/dbus/echo-log.js';

const log = () => new EchoLog(createTestContext().store('echo'));

describe('dbus echo log', () => {
  it('consumes a recorded write once', async () => {
    const echoes = log();
    await echoes.record('n1', 'h1');
    assert.equal(await echoes.consume('n1', 'h1'), true);
    assert.equal(await echoes.consume('n1', 'h1'), false);
    assert.equal(await echoes.consume('n2', 'h1'), false, 'per object');
  });

  it('recognises any of a burst of writes, and drops the older ones with it', async () => {
    const echoes = log();
    for (const hash of ['h1', 'h2', 'h3']) await echoes.record('n1', hash);
    assert.equal(await echoes.consume('n1', 'h2'), true);
    assert.equal(await echoes.consume('n1', 'h1'), false, 'superseded by h2');
    assert.equal(await echoes.consume('n1', 'h3'), true);
  });

  it('keeps only the last 8 writes of an object', async () => {
    const echoes = log();
    for (let i = 0; i < 10; i++) await echoes.record('n1', `h${i}`);
    assert.equal(await echoes.consume('n1', 'h1'), false);
    assert.equal(await echoes.consume('n1', 'h2'), true);
  });

  it('forgets a write that failed', async () => {
    const echoes = log();
    await echoes.record('n1', 'h1');
    await echoes.forget('n1', 'h1');
    assert.equal(await echoes.consume('n1', 'h1'), false);
  });
});
