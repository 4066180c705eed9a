import { z } from 'zod';

// CouchDB's rule for database names (https://docs.couchdb.org/en/stable/api/database/common.html).
const DATABASE_NAME = /^[a-z][a-z0-9_$()+/-]*$/;

const connection = {
  url: z
    .string()
    .url()
    .refine((url) => /^https?:\/\//.test(url), 'an http:// or https:// URL')
    .describe('CouchDB server URL; credentials may be given as user:password@'),
  database: z.string().regex(DATABASE_NAME, 'a CouchDB database name (lowercase, starting with a letter)'),
  typeField: z.string().min(1).default('type').describe('document property holding the object type'),
  tagsField: z.string().min(1).default('tags').describe('document property holding the tags (a string array)'),
  metaField: z
    .string()
    .min(1)
    .default('pubsync')
    .describe("document property holding pubsync's metadata (global id, per-field CSNs, origin)"),
  defaultType: z.string().min(1).default('document').describe('type of documents without a type property'),
  requestTimeoutMs: z.number().int().min(100).default(30_000),
};

export const sourceOptionsSchema = z
  .object({
    ...connection,
    includeDesign: z.boolean().default(false).describe('publish design documents too'),
    selector: z
      .record(z.string(), z.unknown())
      .optional()
      .describe('a Mango selector: only matching documents are published (deletes always pass)'),
    types: z.array(z.string().min(1)).optional().describe('only documents of these types are published'),
    batchSize: z.number().int().min(1).max(10_000).default(500).describe('changes read per _changes request'),
    longpollTimeoutMs: z.number().int().min(100).max(300_000).default(5_000),
    maxAttachmentBytes: z
      .number()
      .int()
      .min(0)
      .default(16 * 1024 * 1024)
      .describe('attachments up to this size are fetched and carried; larger ones travel by reference'),
    reconnectMinMs: z.number().int().min(1).default(200),
    reconnectMaxMs: z.number().int().min(1).default(30_000),
  })
  .strict();

export const sinkOptionsSchema = z
  .object({
    ...connection,
    batchSize: z.number().int().min(1).max(10_000).default(500).describe('documents per _bulk_docs request'),
    conflictRetries: z.number().int().min(0).max(100).default(5).describe('re-read and merge rounds after a 409'),
  })
  .strict();

export type SourceOptions = z.infer<typeof sourceOptionsSchema>;
export type SinkOptions = z.infer<typeof sinkOptionsSchema>;
export type ConnectionOptions = Pick<SourceOptions, keyof typeof connection>;

/** The store scope shared by a source and a sink over the same database (echo suppression). */
export function storeScope(options: Pick<ConnectionOptions, 'url' | 'database'>): string {
  return `couchdb:${withoutCredentials(options.url)}/${options.database}`;
}

export function withoutCredentials(url: string): string {
  const parsed = new URL(url);
  parsed.username = '';
  parsed.password = '';
  return parsed.href.replace(/\/+$/, '');
}
