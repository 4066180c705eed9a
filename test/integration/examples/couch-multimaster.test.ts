import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { getDoc, putDoc, waitFor } from '../../../examples/demo/foreign-clients.js';
import { ExampleStack } from './example-stack.js';

/**
 * examples/couch-multimaster end to end: three CouchDB databases, three daemons as `pubsync run`
 * processes on examples/couch-multimaster/site-{a,b,c}.yaml, each publisher and subscriber, one
 * real Prosody between them; curl is the only client of the databases.
 */
describe('example couch-multimaster', { timeout: 300_000 }, () => {
  const stack = new ExampleStack('couch-multimaster');
  const site = (name: 'A' | 'B' | 'C'): { url: string; database: string } => ({
    url: stack.running.env[`SITE_${name}_COUCHDB_URL`] ?? '',
    database: stack.running.env[`SITE_${name}_DATABASE`] ?? '',
  });

  before(async () => {
    await stack.startServices();
    await stack.startDaemons();
  });

  after(() => stack.stop());

  it('runs the tour: a create on a, an edit on c and a delete on b each reach the other two', async () => {
    await stack.tour();
  });

  it('documents created on different sites at once all end up on every site', async () => {
    const names = ['A', 'B', 'C'] as const;
    await Promise.all(names.map((name) => putDoc(site(name).url, site(name).database, { _id: `from-${name}`, site: name })));
    for (const at of names) {
      for (const from of names) {
        const doc = await waitFor(`from-${from} on ${at}`, () => getDoc(site(at).url, site(at).database, `from-${from}`));
        assert.equal(doc['site'], from);
      }
    }
  });

  it('every daemon stops cleanly on SIGTERM and dead-lettered nothing', async () => {
    const codes = await stack.stopDaemons();
    assert.deepEqual(codes, { 'site-a': 0, 'site-b': 0, 'site-c': 0 }, stack.logs());
    for (const name of ['a', 'b', 'c']) assert.deepEqual(stack.deadLetters(`site-${name}.db`), [], `site ${name}`);
  });
});
