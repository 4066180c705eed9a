// Minimal types for express-pouchdb 4.2.0 (ships none): the options the harness passes and the
// properties its middleware puts on the app and on requests.

declare module 'express-pouchdb' {
  import type { Express, Request } from 'express';
  import type PouchDB from 'pouchdb-core';

  namespace expressPouchDB {
    interface Options {
      mode?: 'fullCouchDB' | 'minimumForPouchDB' | 'custom';
      /** Keep the _config settings in memory instead of writing ./config.json. */
      inMemoryConfig?: boolean;
      configPath?: string;
      /** Where the CouchDB-style log goes; the default is ./log.txt in the working directory. */
      logPath?: string;
      overrideMode?: { include?: string[]; exclude?: string[] };
    }

    interface App extends Express {
      /** Starts the daemons (replicator, _users, ...); resolves once they are up. */
      setPouchDB(pouch: PouchDB.Static): Promise<void>;
    }

    /** A request after express-pouchdb's '/:db/*' middleware resolved the database. */
    interface DbRequest extends Request {
      db: PouchDB.Database;
      PouchDB: PouchDB.Static;
    }
  }

  function expressPouchDB(options?: expressPouchDB.Options): expressPouchDB.App;
  export = expressPouchDB;
}
