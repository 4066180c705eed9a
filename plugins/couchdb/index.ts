import { definePlugin } from 'pubsync/plugin-api';
import { sinkOptionsSchema, sourceOptionsSchema } from './config.js';
import { CouchDbSink } from './couchdb-sink.js';
import { CouchDbSource } from './couchdb-source.js';

export const couchdbSource = definePlugin({
  kind: 'source',
  name: 'couchdb',
  summary: "Follows a CouchDB database's _changes feed (documents, attachments, deletes)",
  configSchema: sourceOptionsSchema,
  create: (options, context) => new CouchDbSource(options, context),
});

export const couchdbSink = definePlugin({
  kind: 'sink',
  name: 'couchdb',
  summary: 'Writes documents to a CouchDB database with _bulk_docs, merging 409s by CSN',
  configSchema: sinkOptionsSchema,
  create: (options, context) => new CouchDbSink(options, context),
});

export const plugins = [couchdbSource, couchdbSink] as const;
