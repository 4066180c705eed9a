import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SignalInbox } from '../../../plugins/dbus/signal-inbox.js';

describe('dbus signal inbox', () => {
  it('coalesces a burst of signals for one object into one item', async () => {
    const inbox = new SignalInbox({ maxPending: 100, coalesceMs: 20 });
    for (let i = 0; i < 50; i++) inbox.add('same', undefined);
    inbox.add('other', undefined);
    assert.deepEqual(await inbox.next(), { rescan: false, items: [['same', undefined], ['other', undefined]] });
    inbox.stop();
  });

  it('keeps what the latest signal of an object carried', async () => {
    const inbox = new SignalInbox<string>({ maxPending: 100, coalesceMs: 5 });
    inbox.add('n1', 'v1');
    inbox.add('n2', 'w1');
    inbox.add('n1', 'v2');
    assert.deepEqual(await inbox.next(), { rescan: false, items: [['n1', 'v2'], ['n2', 'w1']] });
    inbox.stop();
  });

  it('asks for a rescan instead of holding more than maxPending objects', async () => {
    const inbox = new SignalInbox({ maxPending: 3, coalesceMs: 1000 });
    for (const id of ['a', 'b', 'c', 'd']) inbox.add(id, undefined);
    assert.deepEqual(await inbox.next(), { rescan: true, items: [] });
    inbox.stop();
  });

  it('hands out a rescan request at once, without waiting for the window', async () => {
    const inbox = new SignalInbox({ maxPending: 3, coalesceMs: 60_000 });
    inbox.add('a', undefined);
    inbox.requestRescan();
    assert.deepEqual(await inbox.next(), { rescan: true, items: [] });
    inbox.stop();
  });

  it('ends a waiting next() when stopped', async () => {
    const inbox = new SignalInbox({ maxPending: 3, coalesceMs: 10 });
    const waiting = inbox.next();
    inbox.stop();
    assert.equal(await waiting, undefined);
  });
});
