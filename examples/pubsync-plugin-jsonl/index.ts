/**
 * pubsync-plugin-jsonl: a worked example of a third-party pubsync plugin. A source and a sink over
 * a directory of JSON files, one per object. It imports nothing of pubsync but its plugin API.
 *
 *   plugins: [pubsync-plugin-jsonl]
 *   sources: [{ name: notes, plugin: jsonl, options: { directory: /srv/notes } }]
 */
import { definePlugin } from 'pubsync/plugin-api';
import { JsonlSink } from './jsonl-sink.js';
import { JsonlSource } from './jsonl-source.js';
import { sinkOptions, sourceOptions } from './options.js';

export const jsonlSource = definePlugin({
  kind: 'source',
  name: 'jsonl',
  summary: 'Watches a directory of JSON files (one per object) by polling it',
  configSchema: sourceOptions,
  create: (options, context) => new JsonlSource(options, context),
});

export const jsonlSink = definePlugin({
  kind: 'sink',
  name: 'jsonl',
  summary: 'Writes objects to a directory of JSON files, one per object',
  configSchema: sinkOptions,
  create: (options, context) => new JsonlSink(options, context),
});

export const plugins = [jsonlSource, jsonlSink] as const;
