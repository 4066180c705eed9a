import { after, before } from 'node:test';
import { instantiate, objectEntry, sinkContract, sourceContract, type ObjectState } from 'pubsync/testing';
import { couchdbSink, couchdbSource } from '../../../plugins/couchdb/index.js';
import { startCouchDb, type CouchDb } from '../../harness/couchdb.js';
import { testDatabase } from './couch-fixture.js';

let couch: CouchDb;
before(async () => {
  couch = await startCouchDb();
});
after(() => couch.stop());

sourceContract('couchdb', {
  async setup() {
    const database = await couch.createDatabase('source-contract');
    const db = testDatabase(couch.url, database);
    return {
      create: (context) => instantiate(couchdbSource, { url: couch.url, database, longpollTimeoutMs: 1000 }, context),
      writeObject: async (id, fields) => {
        await db.put(id, { ...fields });
      },
      deleteObject: (id) => db.remove(id),
    };
  },
});

sinkContract('couchdb', {
  async setup() {
    const database = await couch.createDatabase('sink-contract');
    const db = testDatabase(couch.url, database);
    await db.forbidType('forbidden');
    return {
      create: (context) => instantiate(couchdbSink, { url: couch.url, database }, context),
      read: async (localKey) => {
        const doc = await db.get(localKey);
        if (!doc) return undefined;
        const state: Record<string, string[]> = {};
        for (const [name, value] of Object.entries(doc)) if (typeof value === 'string') state[name] = [value];
        return state as ObjectState;
      },
      makeRefused: () => objectEntry({ type: 'forbidden', fields: { name: 'refused', note: 'refused' } }),
    };
  },
});
