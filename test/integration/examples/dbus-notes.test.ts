import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { allDocs, waitFor } from '../../../examples/demo/foreign-clients.js';
import { gdbusCall } from '../dbus/notes-app-process.js';
import { ExampleStack } from './example-stack.js';

/**
 * examples/dbus-notes end to end: a private D-Bus bus with the example notes app, the embedded
 * CouchDB-protocol server, Prosody, and the two daemons as `pubsync run` processes on
 * examples/dbus-notes/{notes,memos}.yaml; gdbus/dbus-send and curl are the applications' clients.
 */
describe('example dbus-notes', { timeout: 300_000 }, () => {
  const stack = new ExampleStack('dbus-notes');

  before(async () => {
    await stack.startServices();
    await stack.startDaemons();
  });

  after(() => stack.stop());

  it('runs the tour: a note made with gdbus becomes a memo, a curl edit of the memo changes the note, a delete goes across', async () => {
    await stack.tour();
  });

  it('maps the fields through the shipped stylesheets: tags become the keywords array', async () => {
    const { dbus, couch, env } = stack.running;
    await gdbusCall(dbus?.address ?? '', 'Put', 'trip', "{'title': <'Trip'>, 'body': <'pack'>, 'tags': <['travel', 'summer']>}");
    const memo = await waitFor('the Trip memo', async () => (await allDocs(couch.url, env['MEMOS_DATABASE'] ?? '')).find((doc) => doc['subject'] === 'Trip'));
    assert.equal(memo['type'], 'memo');
    assert.equal(memo['text'], 'pack');
    assert.deepEqual(memo['keywords'], ['travel', 'summer']);
  });

  it('both daemons stop cleanly on SIGTERM and dead-lettered nothing', async () => {
    const codes = await stack.stopDaemons();
    assert.deepEqual(codes, { 'notes-app': 0, memos: 0 }, stack.logs());
    assert.deepEqual(stack.deadLetters('notes-app.db'), []);
    assert.deepEqual(stack.deadLetters('memos.db'), []);
  });
});
