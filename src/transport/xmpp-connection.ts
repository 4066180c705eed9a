import { randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import { client, xml, type Client } from '@xmpp/client';
import type { Logger } from 'pino';
import { ErrorCodes } from '../errors/codes.js';
import { NotConnectedError, SyncError } from '../errors/sync-error.js';
import { Backoff } from '../pipeline/backoff.js';

export type Stanza = ReturnType<typeof xml>;

export interface XmppConnectionOptions {
  /** xmpp://host:port or xmpps://host:port */
  readonly service: string;
  readonly domain: string;
  /** Bare JID of the account. */
  readonly jid: string;
  readonly password: string;
  readonly resource: string;
  readonly tls: 'required' | 'off';
  readonly logger: Logger;
  readonly backoff?: Backoff;
  /** Default timeout of a request (IQ) in ms. */
  readonly requestTimeoutMs?: number;
}

/** A stanza error the other side answered with, as a SyncError naming the condition. */
export class StanzaRequestError extends SyncError {
  constructor(
    readonly condition: string,
    readonly errorType: string,
    what: string,
    text?: string,
  ) {
    super(ErrorCodes.XMPP_REQUEST_FAILED, 'transient', `${what}: ${errorType} <${condition}/>${text ? ` (${text})` : ''}`, {
      details: { condition, type: errorType },
    });
  }
}

/**
 * Our small port over @xmpp/client: one authenticated stream with available presence, requests
 * that fail at once when the stream dies, and reconnection with exponential backoff and jitter.
 * The password lives only in the SASL callback; nothing here logs it.
 */
export class XmppConnection {
  readonly #options: XmppConnectionOptions;
  readonly #client: Client;
  readonly #pending = new Set<(error: Error) => void>();
  readonly #onlineListeners = new Set<() => void | Promise<void>>();
  readonly #stanzaListeners = new Set<(stanza: Stanza) => void>();
  readonly #backoff: Backoff;
  readonly #loopback: boolean;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #attempting = false;
  #online = false;
  #fullJid = '';

  constructor(options: XmppConnectionOptions) {
    this.#options = options;
    this.#backoff = options.backoff ?? new Backoff({ initialMs: 500, maxMs: 60_000 });
    const url = new URL(options.service);
    this.#loopback = isLoopback(url.hostname);
    const secureTransport = url.protocol === 'xmpps:';
    if (!this.#loopback && options.tls === 'off') {
      options.logger.warn({ service: options.service }, 'TLS is turned off for a non-loopback XMPP server: traffic is readable on the network');
    }
    const [username] = options.jid.split('@');
    const password = options.password;
    this.#client = client({
      service: options.service,
      domain: options.domain,
      resource: options.resource,
      credentials: async (authenticate: (c: object, mechanism: string) => Promise<void>, mechanisms: string[], _fast: unknown, entity: Client) => {
        const secure = secureTransport || entity.isSecure();
        if (!secure && !this.#loopback && options.tls !== 'off') {
          throw new SyncError(ErrorCodes.XMPP_INSECURE, 'config', `refusing to authenticate to ${url.hostname} without TLS (set xmpp.tls: off to allow it)`);
        }
        const mechanism = chooseMechanism(mechanisms, secure || this.#loopback);
        // @xmpp/client base64-encodes PLAIN with btoa, which takes only Latin-1: hand it the UTF-8 bytes.
        const pass = mechanism === 'PLAIN' ? Buffer.from(password, 'utf8').toString('latin1') : password;
        await authenticate({ username, password: pass }, mechanism);
      },
    } as Parameters<typeof client>[0]);
    // Our own reconnect loop below: the built-in one has a fixed delay.
    this.#client.reconnect.stop();
    this.#client.on('error', (error: Error) => options.logger.warn({ err: { message: error.message, name: error.name } }, 'xmpp error'));
    this.#client.on('disconnect', () => this.#onDisconnect());
    this.#client.on('online', (address) => {
      this.#fullJid = address.toString();
      void this.#onOnline();
    });
    this.#client.on('stanza', (stanza: Stanza) => {
      for (const listener of this.#stanzaListeners) listener(stanza);
    });
  }

  get jid(): string {
    return this.#fullJid;
  }

  get bareJid(): string {
    return this.#options.jid;
  }

  get online(): boolean {
    return this.#online;
  }

  /** Connects; resolves once online the first time (presence sent, online listeners run). */
  async start(): Promise<void> {
    const ready = new Promise<void>((resolve) => {
      const off = this.onOnline(() => {
        off();
        resolve();
      });
    });
    try {
      await this.#client.start();
    } catch (error) {
      if (error instanceof SyncError && error.code === ErrorCodes.XMPP_INSECURE) throw error;
      if (isAuthFailure(error)) throw new SyncError(ErrorCodes.XMPP_REQUEST_FAILED, 'config', `login as ${this.#options.jid} failed: ${(error as Error).message}`);
      this.#options.logger.warn({ err: { message: (error as Error).message } }, 'xmpp connect failed, retrying');
      this.#schedule();
    }
    await ready;
  }

  /** Runs on every (re)connection, after available presence. Returns an unsubscribe function. */
  onOnline(listener: () => void | Promise<void>): () => void {
    this.#onlineListeners.add(listener);
    return () => this.#onlineListeners.delete(listener);
  }

  onStanza(listener: (stanza: Stanza) => void): () => void {
    this.#stanzaListeners.add(listener);
    return () => this.#stanzaListeners.delete(listener);
  }

  /** Answers IQ gets in a namespace: return a result child or an <error/> element. */
  handleGet(ns: string, name: string, handler: (from: string, query: Stanza) => Promise<Stanza> | Stanza): void {
    this.#client.iqCallee.get(ns, name, (ctx: { stanza: Stanza; element: Stanza }) => handler(String(ctx.stanza.attrs.from ?? ''), ctx.element));
  }

  async send(stanza: Stanza): Promise<void> {
    if (!this.#online) throw this.#disconnected();
    await this.#client.send(stanza);
  }

  /** An IQ request; rejected at once when the stream goes down, and at timeoutMs at the latest. */
  request(iq: Stanza, what: string, timeoutMs = this.#options.requestTimeoutMs ?? 30_000): Promise<Stanza> {
    if (!this.#online) return Promise.reject(this.#disconnected());
    iq.attrs.id ??= randomUUID();
    const id = String(iq.attrs.id);
    return new Promise<Stanza>((resolve, reject) => {
      const fail = (error: Error): void => {
        this.#pending.delete(fail);
        // Settle the library's own wait too: its timer would otherwise run to the timeout.
        const caller = this.#client.iqCaller as unknown as { handlers: Map<string, { reject(e: Error): void }> };
        caller.handlers.get(id)?.reject(error);
        caller.handlers.delete(id);
        reject(error);
      };
      this.#pending.add(fail);
      this.#client.iqCaller.request(iq, timeoutMs).then(
        (reply: Stanza) => {
          this.#pending.delete(fail);
          resolve(reply);
        },
        (error: unknown) => fail(asRequestError(error, what)),
      );
    });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#online = false;
    this.#rejectPending();
    try {
      await this.#client.stop();
    } catch {
      // Already down: nothing to close.
    }
  }

  async #onOnline(): Promise<void> {
    this.#backoff.reset();
    try {
      // Prosody drops notifications for bare-JID subscribers that have not sent available presence.
      await this.#client.send(xml('presence'));
    } catch {
      return;
    }
    this.#online = true;
    this.#options.logger.info({ jid: this.#fullJid }, 'xmpp online');
    for (const listener of [...this.#onlineListeners]) {
      try {
        await listener();
      } catch (error) {
        this.#options.logger.warn({ err: error }, 'xmpp online handler failed');
      }
    }
  }

  #onDisconnect(): void {
    const was = this.#online;
    this.#online = false;
    this.#rejectPending();
    if (was) this.#options.logger.warn('xmpp stream down');
    // A failed attempt reschedules itself; this is for a stream that was up.
    if (!this.#stopped && !this.#attempting && this.#timer === undefined) this.#schedule();
  }

  #schedule(): void {
    clearTimeout(this.#timer);
    const wait = this.#backoff.next();
    this.#options.logger.info({ retryInMs: wait }, 'xmpp reconnecting');
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#stopped || (this.#client.status !== 'disconnect' && this.#client.status !== 'offline')) return;
      this.#attempting = true;
      this.#client.reconnect.reconnect().then(
        () => {
          this.#attempting = false;
        },
        () => {
          this.#attempting = false;
          if (!this.#stopped) this.#schedule();
        },
      );
    }, wait);
    this.#timer.unref?.();
  }

  #rejectPending(): void {
    const error = this.#disconnected();
    for (const fail of [...this.#pending]) fail(error);
  }

  #disconnected(): SyncError {
    return new NotConnectedError(ErrorCodes.XMPP_DISCONNECTED, `xmpp stream to ${this.#options.service} is down`);
  }
}

/** SCRAM whenever offered; PLAIN only where the password cannot be read on the way (TLS or loopback). */
export function chooseMechanism(offered: readonly string[], plainAllowed: boolean): string {
  const scram = offered.find((m) => m.startsWith('SCRAM-'));
  if (scram) return scram;
  if (plainAllowed && offered.includes('PLAIN')) return 'PLAIN';
  throw new SyncError(ErrorCodes.XMPP_INSECURE, 'config', `no acceptable SASL mechanism among ${offered.join(', ')}`);
}

export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  if (bare === 'localhost') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (isIP(bare) === 6) return bare === '::1';
  return false;
}

function isAuthFailure(error: unknown): boolean {
  return error instanceof Error && error.name === 'SASLError';
}

function asRequestError(error: unknown, what: string): Error {
  if (error instanceof SyncError) return error;
  const e = error as { name?: string; condition?: string; type?: string; text?: string; message?: string };
  if (e.name === 'StanzaError' && e.condition) return new StanzaRequestError(e.condition, e.type ?? 'cancel', what, e.text);
  if (e.name === 'TimeoutError') return new SyncError(ErrorCodes.XMPP_REQUEST_FAILED, 'transient', `${what}: no answer in time`);
  return new SyncError(ErrorCodes.XMPP_REQUEST_FAILED, 'transient', `${what}: ${e.message ?? String(error)}`);
}
