import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { AbandonRequest, UnbindRequest } from 'ldapts';
import { LdapProtocolError, decodeResponse, frameSize, type LdapResponse } from './ldap-message.js';

type Handler = (response: LdapResponse) => void;

/** What ldapts's request classes have in common (its Message base class is not exported). */
export interface Message {
  write(): Buffer;
}

/** Responses buffered for a stream before the socket is paused (back-pressure on the server). */
const HIGH_WATER = 256;
const LOW_WATER = 64;

export class ConnectionClosedError extends Error {
  override readonly name = 'ConnectionClosedError';
}

/**
 * One LDAP connection that owns its socket: frames BER messages and routes each response to the
 * request that asked for it, by message id. Unlike ldapts's Client, it delivers entries and
 * intermediate responses as they arrive, with their controls.
 */
export class LdapConnection {
  readonly #socket: Socket;
  readonly #handlers = new Map<number, Handler>();
  #buffered: Buffer[] = [];
  #bufferedBytes = 0;
  #needed = 0;
  #nextId = 1;
  #closed: Error | undefined;
  readonly #closeListeners = new Set<(error: Error) => void>();

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    // Without an 'error' listener a reset would crash the process; 'close' follows and fails requests.
    socket.on('error', (error) => this.#fail(error));
    socket.on('close', () => this.#fail(new ConnectionClosedError('LDAP connection closed')));
  }

  static open(url: string, timeoutMs: number): Promise<LdapConnection> {
    const parsed = new URL(url);
    const secure = parsed.protocol === 'ldaps:';
    if (!secure && parsed.protocol !== 'ldap:') throw new Error(`unsupported LDAP URL scheme ${parsed.protocol}`);
    const host = parsed.hostname.replace(/^\[|\]$/g, '');
    const port = Number(parsed.port || (secure ? 636 : 389));
    return new Promise((resolve, reject) => {
      const socket = secure ? tlsConnect({ host, port, servername: host }) : netConnect({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new ConnectionClosedError(`connecting to ${url} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      const onError = (error: Error): void => {
        clearTimeout(timer);
        reject(error);
      };
      socket.once('error', onError);
      socket.once(secure ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        socket.off('error', onError);
        socket.setNoDelay(true);
        resolve(new LdapConnection(socket));
      });
    });
  }

  get closed(): boolean {
    return this.#closed !== undefined;
  }

  /** Called once when the connection fails or closes. */
  onClose(listener: (error: Error) => void): void {
    this.#closeListeners.add(listener);
  }

  /** Sends a request whose only response is an LDAPResult. */
  request(build: (messageId: number) => Message): Promise<Extract<LdapResponse, { kind: 'result' }>> {
    return new Promise((resolve, reject) => {
      if (this.#closed) return reject(this.#closed);
      const id = this.#send(build, (response) => {
        this.#forget(id);
        if (response.kind === 'result') resolve(response);
        else reject(new LdapProtocolError(`unexpected ${response.kind} for message ${id}`));
      }, reject);
    });
  }

  /**
   * Sends a search (or any multi-response request) and yields its responses up to and including
   * the final LDAPResult. Leaving the loop early abandons the operation on the server.
   */
  async *stream(build: (messageId: number) => Message, signal?: AbortSignal): AsyncGenerator<LdapResponse> {
    if (this.#closed) throw this.#closed;
    const queue: LdapResponse[] = [];
    let failure: Error | undefined;
    let wake: (() => void) | undefined;
    const notify = (): void => {
      wake?.();
      wake = undefined;
    };
    let done = false;
    const id = this.#send(
      build,
      (response) => {
        queue.push(response);
        if (queue.length >= HIGH_WATER) this.#socket.pause();
        notify();
      },
      (error) => {
        failure = error;
        notify();
      },
    );
    const onAbort = (): void => notify();
    signal?.addEventListener('abort', onAbort);
    try {
      while (!signal?.aborted) {
        const next = queue.shift();
        if (next === undefined) {
          if (failure) throw failure;
          await new Promise<void>((resolve) => (wake = resolve));
          continue;
        }
        if (queue.length <= LOW_WATER && this.#socket.isPaused()) this.#socket.resume();
        if (next.kind === 'result') done = true;
        yield next;
        if (done) return;
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.#forget(id);
      if (this.#socket.isPaused()) this.#socket.resume();
      if (!done && !this.#closed) this.#write(new AbandonRequest({ messageId: this.#nextId++, abandonId: id }).write());
    }
  }

  /** Unbinds and closes. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#write(new UnbindRequest({ messageId: this.#nextId++ }).write());
    this.#fail(new ConnectionClosedError('LDAP connection closed by the client'));
    await new Promise<void>((resolve) => this.#socket.end(resolve));
    this.#socket.destroy();
  }

  #send(build: (messageId: number) => Message, handler: Handler, onError: (error: Error) => void): number {
    const id = this.#nextId++;
    this.#handlers.set(id, handler);
    this.#errorHandlers.set(id, onError);
    this.#write(build(id).write());
    return id;
  }

  readonly #errorHandlers = new Map<number, (error: Error) => void>();

  #forget(id: number): void {
    this.#handlers.delete(id);
    this.#errorHandlers.delete(id);
  }

  #write(bytes: Buffer): void {
    this.#socket.write(bytes);
  }

  #onData(chunk: Buffer): void {
    this.#buffered.push(chunk);
    this.#bufferedBytes += chunk.length;
    // A large message arrives in many chunks: join them only once it is complete.
    if (this.#bufferedBytes < this.#needed) return;
    this.#needed = 0;
    let data = this.#buffered.length === 1 ? chunk : Buffer.concat(this.#buffered, this.#bufferedBytes);
    try {
      for (;;) {
        const size = frameSize(data);
        if (size === undefined || size > data.length) {
          this.#needed = size ?? 0;
          break;
        }
        const response = decodeResponse(data.subarray(0, size));
        data = data.subarray(size);
        this.#handlers.get(response.messageId)?.(response);
      }
    } catch (error) {
      this.#fail(error instanceof Error ? error : new LdapProtocolError(String(error)));
      this.#socket.destroy();
      return;
    }
    // Keep only the incomplete tail; copy so a small tail does not pin a large chunk.
    this.#buffered = data.length > 0 ? [Buffer.from(data)] : [];
    this.#bufferedBytes = data.length;
  }

  #fail(error: Error): void {
    if (this.#closed) return;
    this.#closed = error;
    for (const onError of this.#errorHandlers.values()) onError(error);
    this.#errorHandlers.clear();
    this.#handlers.clear();
    for (const listener of this.#closeListeners) listener(error);
    this.#closeListeners.clear();
  }
}
