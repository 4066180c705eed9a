import { z } from 'zod';
import { adminConfig } from '../admin/admin-config.js';

/**
 * The daemon's configuration file. The host owns this envelope; each plugin owns the shape of
 * its own `options`, validated by the plugin's schema once plugins are loaded.
 */

const name = z
  .string()
  .regex(/^[a-z][a-z0-9-]*$/, 'a lowercase name: letters, digits and dashes, starting with a letter');

const bareJid = z
  .string()
  .regex(/^[^@/\s]+@[^@/\s]+$/, 'a bare JID such as peer@example.org');

const pluginInstance = z
  .object({
    name,
    plugin: z.string().min(1).describe('the plugin name, e.g. "ldap", "couchdb", "dbus" or one from `plugins`'),
    options: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();

const sinkInstance = pluginInstance
  .extend({
    source: name
      .optional()
      .describe(
        'the source that reads the data this sink writes (the same application): what the sink applies is then known to that source, so it is not published again as a local change',
      ),
  })
  .strict();

const fieldPredicate = z
  .object({
    field: z.string().min(1),
    equals: z.union([z.string(), z.number(), z.boolean()]).optional(),
    in: z.array(z.union([z.string(), z.number(), z.boolean()])).optional(),
    exists: z.boolean().optional(),
  })
  .strict();

export const routeSchema = z
  .object({
    types: z.array(z.string().min(1)).optional().describe('object types that go to this node; all when absent'),
    tags: z.array(z.string().min(1)).optional().describe('an object goes here when it has any of these tags'),
    where: z.array(fieldPredicate).optional().describe('field predicates; all must hold'),
    sources: z.array(name).optional().describe('only objects from these sources; all when absent'),
  })
  .strict();

const nodeConfig = z
  .object({
    name: z.string().min(1).describe('the PubSub node name on the pubsub service'),
    title: z.string().optional(),
    access: z.enum(['whitelist', 'open']).default('whitelist'),
    members: z.array(bareJid).default([]).describe('peers allowed to subscribe and read (the whitelist)'),
    publishers: z.array(bareJid).default([]),
    maxItems: z.union([z.number().int().positive(), z.literal('max')]).default(256),
    persistItems: z
      .boolean()
      .default(false)
      .describe('whether the server keeps published items; pubsync never reads them back (catch-up asks the origin), and a persisted item costs the server its bytes again (bench/RESULTS.md)'),
    route: routeSchema.default({}),
  })
  .strict();

const subscriptionConfig = z
  .object({
    name,
    service: z.string().optional().describe('the pubsub service of the peer; xmpp.pubsubService when absent'),
    node: z.string().min(1),
    publisher: bareJid.optional().describe('the peer daemon that publishes to this node; checked on every item'),
    publisherResource: z.string().min(1).default('pubsync').describe("the publisher daemon's resource: catch-up requests go to its full JID"),
    sink: name.describe('the sink (by name) that applies what arrives'),
    transform: z
      .object({
        stylesheet: z.string().min(1).describe('the XSLT 3.0 stylesheet; a relative path resolves against the config file'),
        params: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
        timeoutMs: z.number().int().positive().default(5000).describe('a batch transform running longer is stopped and its entries dead-lettered'),
        maxMemoryMb: z.number().int().min(16).default(256).describe('heap limit of the transform worker'),
      })
      .strict()
      .optional(),
  })
  .strict();

const xmppConfig = z
  .object({
    service: z
      .string()
      .regex(/^xmpps?:\/\/[^/\s]+$/, 'an address such as xmpp://host:5222 or xmpps://host:5223'),
    domain: z.string().min(1),
    jid: bareJid,
    password: z.string().min(1),
    resource: z.string().default('pubsync'),
    pubsubService: z.string().min(1),
    tls: z
      .enum(['required', 'off'])
      .default('required')
      .describe('TLS is required off loopback; "off" must be chosen explicitly and is logged as a warning'),
    room: z.string().optional().describe('the MUC control room JID, e.g. dataset@conference.example.org'),
    publish: z
      .object({
        maxEntries: z.number().int().positive().max(10_000).default(100).describe('flush a batch at this many entries'),
        maxBytes: z.number().int().positive().default(64 * 1024).describe('bytes of one item (one feed); capped below stanzaLimit'),
        delayMs: z.number().int().nonnegative().default(20).describe('or this long after the first entry waiting'),
      })
      .strict()
      .default({ maxEntries: 100, maxBytes: 64 * 1024, delayMs: 20 }),
    stanzaLimit: z.number().int().min(16 * 1024).default(262144).describe("the server's client-to-server stanza size limit"),
    catchUpPageEntries: z.number().int().positive().max(10_000).default(500).describe('entries per catch-up page'),
  })
  .strict();

export const configSchema = z
  .object({
    replica: z
      .object({
        id: z.number().int().min(0).max(4095).describe('replica id, unique among the peers (the CSN rid)'),
        name: z.string().optional(),
      })
      .strict(),
    state: z
      .object({
        path: z.string().min(1).describe('the SQLite state database'),
        retentionDays: z.number().positive().default(7),
      })
      .strict(),
    log: z
      .object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info') })
      .strict()
      .default({ level: 'info' }),
    admin: adminConfig.default({ enabled: true, listen: '127.0.0.1:0', allowRemote: false }),
    xmpp: xmppConfig.optional(),
    replication: z
      .object({
        collisions: z
          .enum(['rename', 'merge'])
          .default('rename')
          .describe(
            'two objects created independently with the same natural key: "rename" keeps the older under the key and gives the newer a new one; "merge" makes them one object (the older global id wins, fields merged by CSN)',
          ),
        tombstoneRetentionDays: z
          .number()
          .positive()
          .default(30)
          .describe('a tombstone not yet acknowledged by every known peer is purged after this many days'),
      })
      .strict()
      .default({ collisions: 'rename', tombstoneRetentionDays: 30 }),
    plugins: z.array(z.string().min(1)).default([]).describe('third-party plugin modules: npm names or paths'),
    sources: z.array(pluginInstance).default([]),
    sinks: z.array(sinkInstance).default([]),
    nodes: z.array(nodeConfig).default([]),
    subscriptions: z.array(subscriptionConfig).default([]),
  })
  .strict();


export type Config = z.infer<typeof configSchema>;
export type PluginInstanceConfig = z.infer<typeof pluginInstance>;
export type SinkInstanceConfig = z.infer<typeof sinkInstance>;
export type ReplicationConfig = z.infer<typeof configSchema>['replication'];
export type NodeConfig = z.infer<typeof nodeConfig>;
export type SubscriptionConfig = z.infer<typeof subscriptionConfig>;
export type RouteConfig = z.infer<typeof routeSchema>;
export type XmppConfig = z.infer<typeof xmppConfig>;
