import {
  DBusError,
  Message,
  MessageType,
  Variant,
  sessionBus,
  systemBus,
  type MessageBus,
} from 'dbus-next';
import { DbusVariant } from './dbus-variant.js';

/**
 * Our port over dbus-next (unmaintained, pinned at 0.10.2): raw method calls and raw match rules
 * only. Proxies are avoided on purpose: a proxy subscription drops signals from any sender but the
 * current owner of the name, and foreign senders (dbus-send, gdbus emit) must be heard.
 */
export interface DbusConnection {
  call(request: DbusCall): Promise<readonly unknown[]>;
  /** Adds a bus match rule; signals matching it reach onSignal listeners. */
  addMatch(rule: string): Promise<void>;
  removeMatch(rule: string): Promise<void>;
  onSignal(listener: (signal: DbusSignal) => void): () => void;
  /** Settles (never rejects) with the reason once the connection is lost or closed. */
  readonly lost: Promise<Error>;
  close(): void;
}

export interface DbusCall {
  readonly destination: string;
  readonly path: string;
  readonly interface: string;
  readonly member: string;
  readonly signature?: string;
  readonly body?: readonly unknown[];
  readonly timeoutMs: number;
}

export interface DbusSignal {
  readonly sender: string;
  readonly path: string;
  readonly interface: string;
  readonly member: string;
  readonly body: readonly unknown[];
}

/** A D-Bus error reply (or a local failure named like one), with its error name. */
export class DbusCallError extends Error {
  override readonly name = 'DbusCallError';
  constructor(
    readonly errorName: string,
    message: string,
    /** True when the bus or the peer sent the error; false for a local timeout or a lost connection. */
    readonly remote = false,
  ) {
    super(message);
  }
}

/**
 * The callee left the bus before it answered: the bus itself replies NoReply for it. Unlike a
 * local timeout (a slow or stuck app), this says the app is gone; its return is announced.
 */
export function calleeLeft(error: unknown): boolean {
  return error instanceof DbusCallError && error.remote && error.errorName === 'org.freedesktop.DBus.Error.NoReply';
}

/** Error names that mean "the app or the bus is not there right now", not "this call was refused". */
const UNAVAILABLE = new Set([
  'org.freedesktop.DBus.Error.ServiceUnknown',
  'org.freedesktop.DBus.Error.NameHasNoOwner',
  'org.freedesktop.DBus.Error.NoReply',
  'org.freedesktop.DBus.Error.Timeout',
  'org.freedesktop.DBus.Error.TimedOut',
  'org.freedesktop.DBus.Error.Disconnected',
  'org.freedesktop.DBus.Error.NoServer',
]);

export function isUnavailable(error: unknown): boolean {
  return error instanceof DbusCallError && UNAVAILABLE.has(error.errorName);
}

export const DBUS_DAEMON = { destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus' };

/** Connects and completes Hello, or rejects: dbus-next itself would wait forever on a dead bus. */
export function connectBus(bus: string, timeoutMs: number): Promise<DbusConnection> {
  return new Promise((resolve, reject) => {
    let connection: MessageBus;
    try {
      connection =
        bus === 'system' ? systemBus() : bus === 'session' ? sessionBus() : sessionBus({ busAddress: bus });
    } catch (error) {
      reject(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    const timer = setTimeout(() => fail(new Error(`no answer to Hello after ${timeoutMs} ms`)), timeoutMs);
    let settled = false;
    let markLost: (reason: Error) => void = () => undefined;
    const lost = new Promise<Error>((resolveLost) => (markLost = resolveLost));
    function fail(error: unknown): void {
      markLost(error instanceof Error ? error : new Error(String(error)));
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      connection.disconnect();
      reject(error instanceof Error ? error : new Error(String(error)));
    }
    // dbus-next throws on an unheard 'error'; every error means the connection is unusable.
    connection.on('error', fail);
    const stream = (connection as MessageBus & { _connection?: NodeJS.EventEmitter })._connection;
    stream?.on('end', () => fail(new Error('the bus closed the connection')));
    connection.once('connect', () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(new NextConnection(connection, lost, markLost));
    });
  });
}

class NextConnection implements DbusConnection {
  readonly #bus: MessageBus;
  readonly lost: Promise<Error>;
  readonly #markLost: (reason: Error) => void;
  #closed = false;

  constructor(bus: MessageBus, lost: Promise<Error>, markLost: (reason: Error) => void) {
    this.#bus = bus;
    this.lost = lost;
    this.#markLost = markLost;
    void lost.then(() => (this.#closed = true));
  }

  async call(request: DbusCall): Promise<readonly unknown[]> {
    if (this.#closed) throw new DbusCallError('org.freedesktop.DBus.Error.Disconnected', 'the bus connection is closed');
    const message = new Message({
      destination: request.destination,
      path: request.path,
      interface: request.interface,
      member: request.member,
      ...(request.signature === undefined ? {} : { signature: request.signature }),
      body: (request.body ?? []).map(toNext),
    });
    let timer: NodeJS.Timeout | undefined;
    // dbus-next never fails a pending call on its own: the timeout and the lost connection do.
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new DbusCallError('org.freedesktop.DBus.Error.NoReply', `${request.member}: no reply after ${request.timeoutMs} ms`)),
        request.timeoutMs,
      );
    });
    const lost = this.lost.then((reason) => {
      throw new DbusCallError('org.freedesktop.DBus.Error.Disconnected', reason.message);
    });
    try {
      const reply = await Promise.race([this.#bus.call(message), timeout, lost]);
      return (reply?.body ?? []).map(fromNext);
    } catch (error) {
      if (error instanceof DBusError) throw new DbusCallError(error.type, error.text, true);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  async addMatch(rule: string): Promise<void> {
    await this.call({ ...DBUS_DAEMON, member: 'AddMatch', signature: 's', body: [rule], timeoutMs: 10_000 });
  }

  async removeMatch(rule: string): Promise<void> {
    await this.call({ ...DBUS_DAEMON, member: 'RemoveMatch', signature: 's', body: [rule], timeoutMs: 10_000 });
  }

  onSignal(listener: (signal: DbusSignal) => void): () => void {
    const onMessage = (message: Message): void => {
      if (message.type !== MessageType.SIGNAL) return;
      listener({
        sender: message.sender ?? '',
        path: message.path ?? '',
        interface: message.interface ?? '',
        member: message.member ?? '',
        body: (message.body as unknown[]).map(fromNext),
      });
    };
    this.#bus.on('message', onMessage);
    return () => this.#bus.off('message', onMessage);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#markLost(new Error('closed'));
    this.#bus.disconnect();
  }
}

/** A match rule; names and paths cannot contain quotes, so nothing needs escaping. */
export function matchRule(parts: Readonly<Record<string, string | undefined>>): string {
  return Object.entries(parts)
    .filter((part): part is [string, string] => part[1] !== undefined)
    .map(([key, value]) => `${key}='${value}'`)
    .join(',');
}

function toNext(value: unknown): unknown {
  if (value instanceof DbusVariant) return new Variant(value.signature, toNext(value.value));
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (Array.isArray(value)) return value.map(toNext);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, toNext(item)]));
  }
  return value;
}

function fromNext(value: unknown): unknown {
  if (value instanceof Variant) return new DbusVariant(value.signature, fromNext(value.value));
  if (Buffer.isBuffer(value)) return new Uint8Array(value);
  if (Array.isArray(value)) return value.map(fromNext);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, fromNext(item)]));
  }
  return value;
}
