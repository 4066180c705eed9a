// Minimal ambient types for the PouchDB 9 packages the CouchDB test harness loads: there is no
// @types/pouchdb in this tree, and the harness only touches this small surface.

declare module 'pouchdb-core' {
  namespace PouchDB {
    /** Opaque on real CouchDB (strings); PouchDB's adapters happen to use integers. */
    type Seq = number | string;

    interface Doc {
      _id: string;
      _rev?: string;
      _deleted?: boolean;
      _attachments?: Record<string, Record<string, unknown>>;
      [field: string]: unknown;
    }

    interface Change {
      id: string;
      seq: Seq;
      changes: { rev: string }[];
      deleted?: boolean;
      doc?: Doc;
    }

    interface ChangesResponse {
      results: Change[];
      last_seq: Seq;
    }

    type FilterFunction = (doc: Doc, req: { query: unknown }) => boolean;

    interface ChangesOptions {
      since?: Seq;
      limit?: number;
      live?: boolean;
      include_docs?: boolean;
      conflicts?: boolean;
      attachments?: boolean;
      descending?: boolean;
      style?: 'main_only' | 'all_docs';
      filter?: string | FilterFunction;
      selector?: Record<string, unknown>;
      doc_ids?: string[];
      view?: string;
      query_params?: Record<string, unknown>;
    }

    interface ChangesFeed extends PromiseLike<ChangesResponse> {
      on(event: 'change', listener: (change: Change) => void): this;
      on(event: 'complete', listener: (response: ChangesResponse) => void): this;
      on(event: 'error', listener: (error: unknown) => void): this;
      cancel(): void;
    }

    interface DatabaseInfo {
      db_name: string;
      update_seq: Seq;
      doc_count: number;
    }

    interface PutResponse {
      ok: boolean;
      id: string;
      rev: string;
    }

    interface Database {
      changes(options?: ChangesOptions): ChangesFeed;
      info(): Promise<DatabaseInfo>;
      /** With new_edits:false PouchDB resolves with an empty array instead of a PutResponse. */
      put(doc: Doc, options?: Record<string, unknown>): Promise<PutResponse | []>;
    }

    type Plugin = ((pouch: Static) => void) | Record<string, unknown>;

    interface Static {
      new (name: string, options?: Record<string, unknown>): Database;
      plugin(plugin: Plugin): Static;
      /** A subclass whose constructor merges these options in. */
      defaults(options: Record<string, unknown>): Static;
      preferredAdapters: string[];
    }
  }

  const PouchDB: PouchDB.Static;
  export = PouchDB;
}

declare module 'pouchdb-adapter-memory' {
  import type PouchDB from 'pouchdb-core';
  const plugin: PouchDB.Plugin;
  export = plugin;
}

declare module 'pouchdb-adapter-http' {
  import type PouchDB from 'pouchdb-core';
  const plugin: PouchDB.Plugin;
  export = plugin;
}

declare module 'pouchdb-replication' {
  import type PouchDB from 'pouchdb-core';
  const plugin: PouchDB.Plugin;
  export = plugin;
}

declare module 'pouchdb-mapreduce' {
  import type PouchDB from 'pouchdb-core';
  const plugin: PouchDB.Plugin;
  export = plugin;
}
