import {
  AddRequest,
  Attribute,
  BindRequest,
  Change,
  DeleteRequest,
  FilterParser,
  ModifyDNRequest,
  ModifyRequest,
  SearchRequest,
} from 'ldapts';
import { ErrorCodes, NotConnectedError, SyncError } from '../../src/plugin-api/index.js';
import { LdapConnection } from './protocol/ldap-connection.js';
import { type LdapResponse, type RawAttribute } from './protocol/ldap-message.js';
import { resultName } from './protocol/result-codes.js';
import {
  SYNC_DONE_OID,
  SYNC_INFO_OID,
  SYNC_STATE_OID,
  SyncRequestControl,
  decodeSyncDone,
  decodeSyncInfo,
  decodeSyncState,
  type SyncInfo,
  type SyncMode,
  type SyncState,
} from './protocol/sync-controls.js';

/**
 * Our port over LDAP: the few operations the source and sink need, with raw byte values. The
 * implementation drives ldapts's message classes over a socket it owns (see LdapConnection).
 */
export interface LdapClient {
  /** Streams the entries of a search; leaving the loop early abandons it. */
  search(params: SearchParams, signal?: AbortSignal): AsyncIterable<LdapEntry>;
  /** An RFC 4533 content synchronization search. */
  sync(params: SyncParams, signal?: AbortSignal): AsyncIterable<SyncEvent>;
  add(dn: string, attributes: readonly RawAttribute[]): Promise<void>;
  modify(dn: string, changes: readonly LdapModification[]): Promise<void>;
  delete(dn: string): Promise<void>;
  /** A modifyDN with an explicit deleteOldRdn (ldapts's own modifyDN always sends TRUE). */
  modifyDn(dn: string, newRdn: string, options: { deleteOldRdn: boolean; newSuperior?: string }): Promise<void>;
  /** False once the connection failed or was closed: the client is then useless. */
  readonly open: boolean;
  close(): Promise<void>;
}

export type { RawAttribute };

export interface LdapEntry {
  readonly dn: string;
  readonly attributes: readonly RawAttribute[];
}

export interface SearchParams {
  readonly base: string;
  readonly scope: 'base' | 'one' | 'sub';
  readonly filter: string;
  readonly attributes: readonly string[];
}

export interface SyncParams extends SearchParams {
  readonly mode: SyncMode;
  readonly cookie?: string | undefined;
}

export type SyncEvent =
  | { readonly kind: 'entry'; readonly entry: LdapEntry; readonly state: SyncState }
  | { readonly kind: 'info'; readonly info: SyncInfo }
  /** The search ended (refreshOnly, or the server ended a persist search). */
  | { readonly kind: 'done'; readonly cookie?: Buffer };

export interface LdapModification {
  readonly operation: 'add' | 'delete' | 'replace';
  readonly type: string;
  readonly values: readonly Buffer[];
}

export interface LdapClientOptions {
  readonly url: string;
  readonly bindDn: string;
  readonly password: string;
  readonly timeoutMs: number;
}

/** An LDAP operation that ended with a non-zero result code. */
export class LdapResultError extends SyncError {
  override readonly name = 'LdapResultError';
  readonly resultCode: number;
  readonly diagnostic: string;

  constructor(operation: string, dn: string, result: { resultCode: number; diagnostic: string; matchedDn: string }) {
    const name = resultName(result.resultCode);
    const text = result.diagnostic ? `: ${result.diagnostic}` : '';
    super(ErrorCodes.LDAP_RESULT, 'transient', `LDAP ${operation} of "${dn}" failed with ${result.resultCode} ${name}${text}`, {
      details: { ldapResultCode: result.resultCode, ldapResultName: name, ldapMessage: result.diagnostic, matchedDn: result.matchedDn, dn },
    });
    this.resultCode = result.resultCode;
    this.diagnostic = result.diagnostic;
  }
}

const RESULT_OK = 0;

/** Connects and binds (simple bind). Connection failures and refused binds are NotConnectedError. */
export async function openLdapClient(options: LdapClientOptions): Promise<LdapClient> {
  let connection: LdapConnection;
  try {
    connection = await LdapConnection.open(options.url, options.timeoutMs);
  } catch (error) {
    throw unavailable(`cannot connect to ${options.url}: ${(error as Error).message}`, error);
  }
  const result = await connection
    .request((messageId) => new BindRequest({ messageId, dn: options.bindDn, password: options.password }))
    .catch((error: unknown) => {
      throw unavailable(`connection to ${options.url} failed during bind: ${(error as Error).message}`, error);
    });
  if (result.resultCode !== RESULT_OK) {
    await connection.close();
    const detail = `${result.resultCode} ${resultName(result.resultCode)}`;
    throw unavailable(`bind as "${options.bindDn}" to ${options.url} refused: ${detail}`, undefined, result.resultCode);
  }
  return new ConnectionClient(connection);
}

function unavailable(message: string, cause: unknown, resultCode?: number): NotConnectedError {
  return new NotConnectedError(ErrorCodes.LDAP_UNAVAILABLE, message, {
    cause,
    ...(resultCode === undefined ? {} : { details: { ldapResultCode: resultCode } }),
  });
}

class ConnectionClient implements LdapClient {
  readonly #connection: LdapConnection;

  constructor(connection: LdapConnection) {
    this.#connection = connection;
  }

  get open(): boolean {
    return !this.#connection.closed;
  }

  async *search(params: SearchParams, signal?: AbortSignal): AsyncIterable<LdapEntry> {
    for await (const response of this.#connection.stream((messageId) => searchRequest(messageId, params), signal)) {
      if (response.kind === 'entry') yield { dn: response.dn, attributes: response.attributes };
      else if (response.kind === 'result') check('search', params.base, response);
    }
  }

  async *sync(params: SyncParams, signal?: AbortSignal): AsyncIterable<SyncEvent> {
    const control = new SyncRequestControl({
      mode: params.mode,
      ...(params.cookie === undefined ? {} : { cookie: Buffer.from(params.cookie) }),
    });
    const build = (messageId: number): SearchRequest => searchRequest(messageId, params, [control]);
    for await (const response of this.#connection.stream(build, signal)) {
      const event = syncEventOf(response, params.base);
      if (event) yield event;
    }
  }

  async add(dn: string, attributes: readonly RawAttribute[]): Promise<void> {
    const list = attributes.map((attribute) => new Attribute({ type: attribute.type, values: [...attribute.values] }));
    await this.#result('add', dn, (messageId) => new AddRequest({ messageId, dn, attributes: list }));
  }

  async modify(dn: string, changes: readonly LdapModification[]): Promise<void> {
    const list = changes.map(
      (change) =>
        new Change({
          operation: change.operation,
          modification: new Attribute({ type: change.type, values: [...change.values] }),
        }),
    );
    await this.#result('modify', dn, (messageId) => new ModifyRequest({ messageId, dn, changes: list }));
  }

  async delete(dn: string): Promise<void> {
    await this.#result('delete', dn, (messageId) => new DeleteRequest({ messageId, dn }));
  }

  async modifyDn(dn: string, newRdn: string, options: { deleteOldRdn: boolean; newSuperior?: string }): Promise<void> {
    await this.#result('modifyDN', dn, (messageId) => new ModifyDNRequest({ messageId, dn, newRdn, ...options }));
  }

  close(): Promise<void> {
    return this.#connection.close();
  }

  async #result(
    operation: string,
    dn: string,
    build: Parameters<LdapConnection['request']>[0],
  ): Promise<void> {
    const response = await this.#connection.request(build).catch((error: unknown) => {
      throw unavailable(`LDAP ${operation} of "${dn}" lost its connection: ${(error as Error).message}`, error);
    });
    check(operation, dn, response);
  }
}

function searchRequest(messageId: number, params: SearchParams, controls?: SyncRequestControl[]): SearchRequest {
  return new SearchRequest({
    messageId,
    baseDN: params.base,
    scope: params.scope,
    filter: FilterParser.parseString(params.filter),
    attributes: [...params.attributes],
    // ldapts defaults to 10 s; a persist search must never time out.
    timeLimit: 0,
    sizeLimit: 0,
    ...(controls ? { controls } : {}),
  });
}

function check(operation: string, dn: string, response: Extract<LdapResponse, { kind: 'result' }>): void {
  if (response.resultCode !== RESULT_OK) throw new LdapResultError(operation, dn, response);
}

function syncEventOf(response: LdapResponse, base: string): SyncEvent | undefined {
  switch (response.kind) {
    case 'entry': {
      const control = response.controls.find((c) => c.type === SYNC_STATE_OID);
      if (!control?.value) throw protocolError(`entry ${response.dn} arrived without a Sync State control`);
      return { kind: 'entry', entry: { dn: response.dn, attributes: response.attributes }, state: decodeSyncState(control.value) };
    }
    case 'intermediate':
      if (response.name !== SYNC_INFO_OID || !response.value) return undefined;
      return { kind: 'info', info: decodeSyncInfo(response.value) };
    case 'result': {
      check('sync search', base, response);
      const done = response.controls.find((c) => c.type === SYNC_DONE_OID);
      const cookie = done?.value ? decodeSyncDone(done.value).cookie : undefined;
      return { kind: 'done', ...(cookie ? { cookie } : {}) };
    }
    case 'reference':
      return undefined;
  }
}

function protocolError(message: string): SyncError {
  return new SyncError(ErrorCodes.LDAP_PROTOCOL, 'transient', message);
}

