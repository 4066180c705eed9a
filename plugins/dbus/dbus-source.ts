import {
  ErrorCodes,
  NotConnectedError,
  TransientError,
  type ChangeField,
  type PluginContext,
  type PluginStore,
  type Source,
  type SourceBatch,
  type SourceChange,
} from '../../src/plugin-api/index.js';
import { AppMethods } from './app-methods.js';
import { echoScopeOf, type DbusOptions } from './config.js';
import { DBUS_DAEMON, DbusCallError, calleeLeft, connectBus, isUnavailable, matchRule, type DbusConnection, type DbusSignal } from './dbus-client.js';
import { ECHO_DELETED, KEY_SCHEME, busLabel } from './dbus-keys.js';
import { EchoLog } from './echo-log.js';
import { contentHash, fieldsFromDict, MappingError } from './mapping.js';
import { SignalInbox } from './signal-inbox.js';

const HASH_PREFIX = 'h:';
const FETCH_CONCURRENCY = 16;
const MAX_ID_LENGTH = 1024;

/** What a signal carried: the object's fields, 'deleted', or undefined when it must be fetched. */
type Carried = ChangeField[] | 'deleted' | undefined;

/** A change to yield, and the content hash to store once the core has it (undefined: forget the object). */
interface Observed {
  readonly change: SourceChange;
  readonly id: string;
  readonly hash: string | undefined;
}

/**
 * Captures an app's changes from its change signal. D-Bus keeps no history, so completeness comes
 * from rescans: on start, and whenever the app (re)appears on the bus, every object is listed and
 * fetched and compared with the content hash stored for it; what differs is an upsert, what is
 * gone is a delete. Between rescans a signal only names an object: the source fetches it.
 *
 * Hashes are stored when the core pulls the next batch, i.e. once it has durably logged the one
 * that carried them, so a crash in between repeats changes rather than losing them.
 */
export class DbusSource implements Source {
  readonly #options: DbusOptions;
  readonly #context: PluginContext;
  readonly #hashes: PluginStore;
  readonly #echoes: EchoLog;
  readonly #connections = new Set<DbusConnection>();
  #closed = false;

  constructor(options: DbusOptions, context: PluginContext) {
    this.#options = options;
    this.#context = context;
    this.#hashes = context.store();
    this.#echoes = new EchoLog(context.store(echoScopeOf(options)));
  }

  async *start(from: string | undefined, signal: AbortSignal): AsyncIterable<SourceBatch> {
    const connection = await this.#connect();
    const inbox = new SignalInbox<Carried>(this.#options);
    let lost: Error | undefined;
    void connection.lost.then((reason) => {
      lost = reason;
      inbox.stop();
    });
    const onAbort = (): void => inbox.stop();
    signal.addEventListener('abort', onAbort, { once: true });
    const unsubscribe = connection.onSignal((received) => this.#onSignal(received, inbox));
    try {
      // Listen first, then scan: a change during the scan is then signalled, not missed.
      await connection.addMatch(this.#signalRule());
      await connection.addMatch(this.#ownerRule());
      inbox.requestRescan();
      const app = new AppMethods(connection, this.#options);
      // Without a checkpoint the core has nothing yet: every object is new to it.
      let everything = from === undefined;
      for (;;) {
        const work = await inbox.next();
        if (signal.aborted) return;
        if (work === undefined) {
          // close() ends the iteration quietly; a connection lost on its own is the host's to retry.
          if (lost !== undefined && !this.#closed) throw this.#notConnected(`lost the bus: ${lost.message}`);
          return;
        }
        const observed = work.rescan ? this.#rescan(app, everything) : this.#fetch(app, work.items);
        let pending: Observed[] = [];
        let scanned = false;
        for await (const item of observed) {
          if (item === 'scanned') {
            scanned = true;
            continue;
          }
          pending.push(item);
          if (pending.length < this.#options.maxBatch) continue;
          yield this.#batch(pending);
          await this.#remember(pending);
          pending = [];
        }
        if (pending.length > 0) {
          yield this.#batch(pending);
          await this.#remember(pending);
        }
        if (scanned) everything = false;
      }
    } finally {
      unsubscribe();
      inbox.stop();
      signal.removeEventListener('abort', onAbort);
      this.#connections.delete(connection);
      connection.close();
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const connection of this.#connections) connection.close();
    this.#connections.clear();
  }

  async #connect(): Promise<DbusConnection> {
    try {
      const connection = await connectBus(this.#options.bus, this.#options.callTimeoutMs);
      this.#connections.add(connection);
      return connection;
    } catch (error) {
      throw this.#notConnected(`cannot connect to the ${busLabel(this.#options.bus)} bus`, error);
    }
  }

  #onSignal(received: DbusSignal, inbox: SignalInbox<Carried>): void {
    const { interface: iface, signal, signalPath, objectType, service } = this.#options;
    if (received.interface === iface && received.member === signal) {
      if (signalPath !== undefined && received.path !== signalPath) return;
      const [type, id, op, dict] = received.body;
      if (type !== objectType || typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH) return;
      inbox.add(id, this.#carried(id, op, dict));
      return;
    }
    if (received.interface === DBUS_DAEMON.interface && received.member === 'NameOwnerChanged') {
      const [name, , owner] = received.body;
      // The app (re)appeared: whatever happened while it was away, or before we saw it, is found by a rescan.
      if (name === service && typeof owner === 'string' && owner !== '') inbox.requestRescan();
    }
  }

  /** Every object the app lists, compared with the stored hashes; then the stored ids it no longer lists. */
  async *#rescan(app: AppMethods, everything: boolean): AsyncGenerator<Observed | 'scanned'> {
    let ids: string[];
    try {
      ids = await app.list();
    } catch (error) {
      if (!this.#isAbsent(error)) throw this.#callFailed('List', error);
      // The app is not on the bus: NameOwnerChanged will ask for a rescan when it returns.
      this.#context.logger.info({ service: this.#options.service }, 'app not on the bus; waiting for it');
      return;
    }
    const listed = new Set(ids);
    for (let start = 0; start < ids.length; start += FETCH_CONCURRENCY) {
      const slice = ids.slice(start, start + FETCH_CONCURRENCY);
      const results = await Promise.all(slice.map((id) => this.#observe(app, id, everything)));
      for (const result of results) if (result !== undefined) yield result;
    }
    const vanished: string[] = [];
    for await (const [key] of this.#hashes.entries(HASH_PREFIX)) {
      const id = key.slice(HASH_PREFIX.length);
      if (!listed.has(id)) vanished.push(id);
    }
    for (const id of vanished) {
      const result = await this.#observe(app, id, everything);
      if (result !== undefined) yield result;
    }
    yield 'scanned';
  }

  /**
   * With objectFrom: signal, what the signal carried: the fields, or 'deleted' for op "delete".
   * Undefined (fetch it instead) in get mode, and when the signal's fields do not map.
   */
  #carried(id: string, op: unknown, dict: unknown): Carried {
    if (this.#options.objectFrom !== 'signal') return undefined;
    if (op === 'delete') return 'deleted';
    try {
      return fieldsFromDict(dict);
    } catch (error) {
      this.#context.logger.warn({ id, err: error }, 'signal carries no usable object; fetching it');
      return undefined;
    }
  }

  async *#fetch(app: AppMethods, items: readonly (readonly [string, Carried])[]): AsyncGenerator<Observed> {
    for (let start = 0; start < items.length; start += FETCH_CONCURRENCY) {
      const slice = items.slice(start, start + FETCH_CONCURRENCY);
      const results = await Promise.all(
        slice.map(([id, carried]) =>
          carried === undefined
            ? this.#observe(app, id, false)
            : this.#judge(id, carried === 'deleted' ? undefined : carried, false),
        ),
      );
      for (const result of results) if (result !== undefined) yield result;
    }
  }

  /** Fetches one object; undefined when there is nothing to yield (unchanged, an echo, unmappable, or the app is away). */
  async #observe(app: AppMethods, id: string, everything: boolean): Promise<Observed | undefined> {
    let fields: ChangeField[] | undefined;
    try {
      fields = await app.get(id);
    } catch (error) {
      if (error instanceof MappingError) {
        this.#context.logger.warn({ id, err: error }, 'object has a value that does not map to a field; skipped');
        return undefined;
      }
      if (this.#isAbsent(error)) return undefined;
      throw this.#callFailed('Get', error);
    }
    return this.#judge(id, fields, everything);
  }

  /** What the object's current state (undefined: gone) means: a change to yield, or nothing. */
  async #judge(id: string, fields: ChangeField[] | undefined, everything: boolean): Promise<Observed | undefined> {
    const key = HASH_PREFIX + id;
    const type = this.#options.objectType;
    const keys = [{ scheme: KEY_SCHEME, value: id }];
    if (fields === undefined) {
      if (await this.#echoes.consume(id, ECHO_DELETED)) {
        await this.#hashes.delete(key);
        return undefined;
      }
      if ((await this.#hashes.get(key)) === undefined) return undefined;
      return { change: { op: 'delete', keys, type }, id, hash: undefined };
    }
    const hash = contentHash(type, fields);
    if (await this.#echoes.consume(id, hash)) {
      // What this daemon's sink wrote, signalled back: already known, not a change to publish.
      await this.#hashes.put(key, hash);
      return undefined;
    }
    if (!everything && (await this.#hashes.get(key)) === hash) return undefined;
    return { change: { op: 'upsert', keys, type, fields }, id, hash };
  }

  #batch(observed: readonly Observed[]): SourceBatch {
    return { changes: observed.map((item) => item.change), checkpoint: `dbus-scan:${this.#context.clock.now()}` };
  }

  async #remember(observed: readonly Observed[]): Promise<void> {
    for (const { id, hash } of observed) {
      if (hash === undefined) await this.#hashes.delete(HASH_PREFIX + id);
      else await this.#hashes.put(HASH_PREFIX + id, hash);
    }
  }

  #isAbsent(error: unknown): boolean {
    return (
      calleeLeft(error) ||
      (error instanceof DbusCallError &&
        (error.errorName === 'org.freedesktop.DBus.Error.ServiceUnknown' ||
          error.errorName === 'org.freedesktop.DBus.Error.NameHasNoOwner'))
    );
  }

  #signalRule(): string {
    const { interface: iface, signal, signalPath } = this.#options;
    return matchRule({ type: 'signal', interface: iface, member: signal, path: signalPath });
  }

  #ownerRule(): string {
    return matchRule({
      type: 'signal',
      sender: DBUS_DAEMON.destination,
      interface: DBUS_DAEMON.interface,
      member: 'NameOwnerChanged',
      arg0: this.#options.service,
    });
  }

  #callFailed(method: string, error: unknown): Error {
    const name = error instanceof DbusCallError ? error.errorName : undefined;
    const message = `${method} on ${this.#options.service} failed: ${error instanceof Error ? error.message : String(error)}`;
    if (isUnavailable(error)) return this.#notConnected(message, error);
    return new TransientError(ErrorCodes.DBUS_CALL_FAILED, message, { cause: error, details: { dbusError: name } });
  }

  #notConnected(message: string, cause?: unknown): NotConnectedError {
    return new NotConnectedError(ErrorCodes.DBUS_UNAVAILABLE, message, {
      cause,
      details: { service: this.#options.service },
    });
  }
}
