import { z } from 'zod';

const BUS_NAME = /^(?=.{1,255}$)[A-Za-z_-][A-Za-z0-9_-]*(\.[A-Za-z_-][A-Za-z0-9_-]*)+$/;
const INTERFACE = /^(?=.{1,255}$)[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$/;
const MEMBER = /^[A-Za-z_][A-Za-z0-9_]{0,254}$/;
const OBJECT_PATH = /^\/$|^(\/[A-Za-z0-9_]+)+$/;

const member = (what: string, fallback: string) =>
  z.string().regex(MEMBER, 'a D-Bus member name such as Put').default(fallback).describe(what);

/**
 * Options of the dbus source and sink: one application on one bus. Both use the same options so
 * a source and a sink of the same app can share one block in the config.
 */
export const dbusOptions = z
  .object({
    bus: z
      .union([z.literal('session'), z.literal('system'), z.string().regex(/^[a-z]+:.+/, 'session, system or an address')])
      .default('session')
      .describe('the bus: session, system, or an address such as unix:path=/run/app/bus.sock'),
    service: z.string().regex(BUS_NAME, 'a well-known bus name such as org.pubsync.Notes').describe("the app's bus name"),
    objectPath: z.string().regex(OBJECT_PATH, 'an object path such as /org/pubsync/Notes').describe('where the methods are'),
    interface: z.string().regex(INTERFACE, 'an interface name such as org.pubsync.Notes').describe('the methods and signal interface'),
    signal: member('the change signal: (type, id, op), or (type, id, op, a{sv} fields) with objectFrom: signal', 'ObjectChanged'),
    objectFrom: z
      .enum(['get', 'signal'])
      .default('get')
      .describe('get: the signal names the object and the source fetches it; signal: the signal carries its fields'),
    signalPath: z
      .string()
      .regex(OBJECT_PATH, 'an object path')
      .optional()
      .describe('only signals sent on this path; default: any path'),
    methods: z
      .object({
        list: member('List() -> as: every object id', 'List'),
        get: member('Get(s id) -> a{sv}: one object', 'Get'),
        put: member('Put(s id, a{sv} fields) -> x: replaces the object', 'Put'),
        delete: member('Delete(s id)', 'Delete'),
      })
      .strict()
      .prefault({}),
    notFoundErrors: z
      .array(z.string().min(1))
      .default(['org.pubsync.Notes.Error.NotFound'])
      .describe('D-Bus error names meaning "no such object" from Get and Delete'),
    objectType: z.string().min(1).default('note').describe("the signal's type argument to act on, and the entries' type"),
    coalesceMs: z.number().int().min(0).max(60_000).default(20).describe('signals for one object within this are one fetch'),
    maxBatch: z.number().int().positive().max(10_000).default(100).describe('changes per batch at most'),
    maxPending: z
      .number()
      .int()
      .positive()
      .default(10_000)
      .describe('signalled ids kept waiting at most; beyond it the source rescans instead'),
    callTimeoutMs: z.number().int().positive().default(10_000).describe('how long a method call may take'),
    echoScope: z
      .string()
      .min(1)
      .optional()
      .describe('the shared store scope where the sink records its writes; default: derived from service and path'),
  })
  .strict();

export type DbusOptions = z.output<typeof dbusOptions>;

/** The store scope a source and a sink of the same app share, so the source skips the sink's writes. */
export function echoScopeOf(options: DbusOptions): string {
  return options.echoScope ?? `dbus-echo:${options.service}${options.objectPath}`;
}
