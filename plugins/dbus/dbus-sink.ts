import {
  ErrorCodes,
  NotConnectedError,
  type ApplyOutcome,
  type ChangeField,
  type Entry,
  type PluginContext,
  type Sink,
  type SinkOperation,
} from '../../src/plugin-api/index.js';
import { AppMethods } from './app-methods.js';
import { echoScopeOf, type DbusOptions } from './config.js';
import { DbusCallError, connectBus, isUnavailable, type DbusConnection } from './dbus-client.js';
import { ECHO_DELETED, KEY_SCHEME, busLabel } from './dbus-keys.js';
import { EchoLog } from './echo-log.js';
import { MappingError, contentHash, dictFromFields, fieldsFromDict } from './mapping.js';

const UUID_URN = /^urn:uuid:([0-9a-f-]{36})$/i;

/**
 * Writes entries through the app's Put and Delete methods. Put replaces an object whole, so an
 * update is Get, merge the fields the core names, Put. A D-Bus error reply refuses that record
 * (rejected, with the D-Bus error name as its code); the app or the bus being away fails the
 * whole call (NotConnectedError), so the core pauses and retries until it returns.
 *
 * Before each write the sink records the content it is about to write in the scope it shares with
 * the source of the same app, so the source does not publish the app's signal of it as a change.
 */
export class DbusSink implements Sink {
  readonly #options: DbusOptions;
  readonly #context: PluginContext;
  readonly #echoes: EchoLog;
  #connection: DbusConnection | undefined;

  constructor(options: DbusOptions, context: PluginContext) {
    this.#options = options;
    this.#context = context;
    this.#echoes = new EchoLog(context.store(echoScopeOf(options)));
  }

  async apply(batch: readonly SinkOperation[], signal: AbortSignal): Promise<readonly ApplyOutcome[]> {
    if (batch.length === 0) return [];
    const app = new AppMethods(await this.#connect(), this.#options);
    const outcomes: ApplyOutcome[] = [];
    for (const operation of batch) {
      // Stopping mid-batch is safe: the core retries the batch, and applying is idempotent.
      signal.throwIfAborted();
      outcomes.push(await this.#applyOne(app, operation));
    }
    return outcomes;
  }

  async close(): Promise<void> {
    this.#connection?.close();
    this.#connection = undefined;
  }

  async #applyOne(app: AppMethods, { entry, fields, localKey }: SinkOperation): Promise<ApplyOutcome> {
    const id = localKey ?? idOf(entry);
    if (id === undefined) {
      return rejected(ErrorCodes.SINK_REJECTED, `no object id for ${entry.id}: it needs a ${KEY_SCHEME} key or a urn:uuid id`, entry);
    }
    try {
      if (entry.deleted) return await this.#delete(app, id);
      return await this.#put(app, id, entry, fields);
    } catch (error) {
      if (error instanceof MappingError) return rejected(ErrorCodes.SINK_REJECTED, error.message, entry);
      if (!(error instanceof DbusCallError)) throw error;
      if (isUnavailable(error)) {
        if (error.errorName === 'org.freedesktop.DBus.Error.Disconnected') this.#connection = undefined;
        throw new NotConnectedError(ErrorCodes.DBUS_UNAVAILABLE, `${this.#options.service} is not reachable: ${error.message}`, {
          cause: error,
          details: { dbusError: error.errorName, service: this.#options.service },
        });
      }
      // The app refused this record (a bad value, an unknown method...): dead-letter it with the app's words.
      return rejected(error.errorName, error.message, entry, { objectId: id });
    }
  }

  async #delete(app: AppMethods, id: string): Promise<ApplyOutcome> {
    await this.#echoes.record(id, ECHO_DELETED);
    try {
      if (await app.delete(id)) return { status: 'applied', localKey: id };
    } catch (error) {
      await this.#echoes.forget(id, ECHO_DELETED);
      throw error;
    }
    await this.#echoes.forget(id, ECHO_DELETED);
    return { status: 'skipped', reason: 'already absent' };
  }

  async #put(app: AppMethods, id: string, entry: Entry & { deleted: false }, names: readonly string[]): Promise<ApplyOutcome> {
    const current = await app.get(id);
    const next = merge(entry.fields, names, current);
    const type = this.#options.objectType;
    const hash = contentHash(type, fieldsFromDict(dictFromFields(next)));
    if (current !== undefined && contentHash(type, current) === hash) return { status: 'skipped', reason: 'unchanged' };
    const dict = dictFromFields(next);
    await this.#echoes.record(id, hash);
    try {
      await app.put(id, dict);
    } catch (error) {
      await this.#echoes.forget(id, hash);
      throw error;
    }
    this.#context.logger.debug({ id, entry: entry.id }, 'object written');
    return { status: 'applied', localKey: id };
  }

  async #connect(): Promise<DbusConnection> {
    if (this.#connection !== undefined) return this.#connection;
    try {
      const connection = await connectBus(this.#options.bus, this.#options.callTimeoutMs);
      void connection.lost.then(() => {
        if (this.#connection === connection) this.#connection = undefined;
      });
      this.#connection = connection;
      return connection;
    } catch (error) {
      throw new NotConnectedError(ErrorCodes.DBUS_UNAVAILABLE, `cannot connect to the ${busLabel(this.#options.bus)} bus`, {
        cause: error,
      });
    }
  }
}

/** The object after applying: the named fields from the entry (absent = removed), the rest as the app has them. */
function merge(
  fields: readonly ChangeField[],
  names: readonly string[],
  current: readonly ChangeField[] | undefined,
): ChangeField[] {
  if (current === undefined) return [...fields];
  const byName = new Map(current.map((field) => [field.name, field]));
  for (const name of names) {
    const field = fields.find((candidate) => candidate.name === name);
    if (field === undefined) byName.delete(name);
    else byName.set(name, field);
  }
  return [...byName.values()];
}

function idOf(entry: Entry): string | undefined {
  return entry.keys.find((key) => key.scheme === KEY_SCHEME)?.value ?? UUID_URN.exec(entry.id)?.[1];
}

function rejected(
  code: string,
  reason: string,
  entry: Entry,
  details: Readonly<Record<string, unknown>> = {},
): ApplyOutcome {
  return { status: 'rejected', code, reason, details: { entryId: entry.id, ...details } };
}
