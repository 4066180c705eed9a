import { setTimeout as sleep } from 'node:timers/promises';
import {
  ConfigError,
  ErrorCodes,
  NotConnectedError,
  SyncError,
  TransientError,
  type PluginContext,
  type Source,
  type SourceBatch,
  type SourceChange,
} from '../../src/plugin-api/index.js';
import { RECORD_ATTRIBUTES, isWithin, rdnAttributes, rdnOf, recordOf, type AccesslogRecord } from './accesslog-record.js';
import type { SourceOptions } from './config.js';
import { cookieOf, formatCookie, parseCheckpoint, type Cursor } from './cursor.js';
import { escapeFilterValue } from './filter-escape.js';
import { LdapResultError, openLdapClient, type LdapClient, type LdapEntry } from './ldap-client.js';
import { KnownEntries, type KnownEntry } from './known-entries.js';
import { readSubschema, schemaChange } from './schema.js';
import { ENTRY_ATTRIBUTES, deleteOf, firstValue, typeOf, upsertOf, type MappingOptions } from './mapping.js';

const UNAVAILABLE_CRITICAL_EXTENSION = 12;
const SYNC_REFRESH_REQUIRED = 4096;
/** Records per polling round at most: a large backlog comes in rounds, not all in memory. */
const POLL_PAGE = 1000;
/** Entry lookups (one search each) in flight while a batch of log records is turned into changes. */
const LOOKUPS_IN_FLIGHT = 16;
const WOULD_WAIT = Symbol('would wait');

/** Resolves after pending I/O callbacks ran: what a stream already received has arrived by then. */
function nextTurn(): Promise<typeof WOULD_WAIT> {
  return new Promise((resolve) => setImmediate(() => resolve(WOULD_WAIT)));
}

/**
 * Captures changes from OpenLDAP's accesslog: one RFC 4533 refreshAndPersist search on the log
 * database yields every write with its exact modification list, in CSN order. The checkpoint is
 * the sync cookie (the record's entryCSN); a cursor older than what the log still holds (purged)
 * leads to a full resync of the subtree.
 */
export class LdapSource implements Source {
  readonly #options: SourceOptions;
  readonly #context: PluginContext;
  readonly #mapping: MappingOptions;
  readonly #clients = new Set<LdapClient>();
  readonly #known: KnownEntries;

  constructor(options: SourceOptions, context: PluginContext) {
    this.#options = options;
    this.#context = context;
    this.#mapping = options;
    this.#known = new KnownEntries(context.store());
  }

  /** The replicator's writes (the ldap sink binds as it) are filtered out of the log search. */
  get skipsSinkWrites(): boolean {
    return this.#options.replicatorDn !== undefined;
  }

  async *start(from: string | undefined, signal: AbortSignal): AsyncIterable<SourceBatch> {
    const reader = await this.#open();
    try {
      let cursor = await this.#startingCursor(reader, from);
      for (;;) {
        if (cursor.resync) yield* this.#snapshot(reader, cursor.csn, signal);
        if (signal.aborted) return;
        if (this.#options.publishSchema) yield* this.#schema(reader, cursor.csn);
        try {
          yield* this.#follow(reader, cursor.csn, signal);
          return;
        } catch (error) {
          // The provider cannot serve our cookie incrementally: start over with a full refresh.
          if (!(error instanceof LdapResultError && error.resultCode === SYNC_REFRESH_REQUIRED)) throw error;
          this.#context.logger.warn({ code: ErrorCodes.LDAP_LOG_PURGED }, 'e-syncRefreshRequired: full resync of the subtree');
          cursor = { csn: await this.#highWaterMark(reader), resync: true };
        }
      }
    } finally {
      await this.#close(reader);
    }
  }

  async *#follow(reader: LdapClient, csn: string | undefined, signal: AbortSignal): AsyncGenerator<SourceBatch> {
    if (this.#options.capture === 'poll') {
      yield* this.#poll(reader, csn, signal);
      return;
    }
    // Set once the stream has started; a refusal after that is no reason to fall back.
    let streaming = false;
    try {
      for await (const batch of this.#persist(reader, csn, signal)) {
        streaming = true;
        yield batch;
      }
    } catch (error) {
      const unsupported = error instanceof LdapResultError && error.resultCode === UNAVAILABLE_CRITICAL_EXTENSION;
      if (!unsupported || streaming || this.#options.capture === 'sync') throw error;
      this.#context.logger.warn({ base: this.#options.accesslogBase }, 'no syncprov on the accesslog: polling it instead');
      yield* this.#poll(reader, csn, signal);
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.#clients].map((client) => this.#close(client)));
  }

  /** Where to begin, and whether a full snapshot of the subtree has to come first. */
  async #startingCursor(reader: LdapClient, from: string | undefined): Promise<Cursor> {
    if (from !== undefined) {
      const cursor = parseCheckpoint(from);
      if (cursor === undefined) {
        throw new ConfigError(ErrorCodes.PLUGIN_FAILED, `checkpoint ${JSON.stringify(from)} is not an LDAP sync cookie`);
      }
      if (cursor.resync || cursor.csn === undefined) return cursor;
      const minCsn = await this.#purgedUpTo(reader, cursor.csn);
      if (minCsn === undefined) return cursor;
      this.#context.logger.warn(
        { code: ErrorCodes.LDAP_LOG_PURGED, cursor: cursor.csn, minCsn },
        'the accesslog was purged past the cursor: full resync of the subtree',
      );
      return { csn: await this.#highWaterMark(reader), resync: true };
    }
    const now = await this.#highWaterMark(reader);
    return { csn: now, resync: this.#options.initial === 'snapshot' };
  }

  /**
   * contextCSN of the log: everything up to it is already in the directory. An empty log has
   * none, and then no cookie may be sent either (syncprov refuses state it does not have).
   */
  async #highWaterMark(reader: LdapClient): Promise<string | undefined> {
    const base = this.#options.accesslogBase;
    const entry = await first(reader, { base, scope: 'base', filter: '(objectClass=*)', attributes: ['contextCSN'] });
    const csns = entry?.attributes.find((a) => a.type.toLowerCase() === 'contextcsn')?.values.map(String) ?? [];
    return csns.sort().at(-1);
  }

  /**
   * The log's minCSN when records newer than `csn` were purged, else undefined. After a purge
   * minCSN is the newest purged CSN; before any purge it is the oldest record's, which still exists.
   */
  async #purgedUpTo(reader: LdapClient, csn: string): Promise<string | undefined> {
    const base = this.#options.accesslogBase;
    const root = await first(reader, { base, scope: 'base', filter: '(objectClass=*)', attributes: ['minCSN'] });
    const minCsn = root?.attributes.find((a) => a.type.toLowerCase() === 'mincsn')?.values.map(String).sort().at(-1);
    if (minCsn === undefined || csn >= minCsn) return undefined;
    const filter = `(entryCSN=${escapeFilterValue(minCsn)})`;
    const survivor = await first(reader, { base, scope: 'one', filter, attributes: ['1.1'] });
    return survivor ? undefined : minCsn;
  }

  async *#snapshot(reader: LdapClient, csn: string | undefined, signal: AbortSignal): AsyncGenerator<SourceBatch> {
    const { base, filter, snapshotBatch } = this.#options;
    // Until the snapshot is complete, a restart must redo it: the checkpoint says so.
    const during = formatCookie({ csn, resync: true });
    // Bounded by the subtree (about 100 bytes an entry): to find what was deleted while the log was lost.
    const present = new Map<string, KnownEntry>();
    let changes: SourceChange[] = [];
    this.#context.logger.info({ base, filter, from: csn }, 'snapshot of the subtree started');
    for await (const entry of reader.search({ base, scope: 'sub', filter, attributes: ENTRY_ATTRIBUTES }, signal)) {
      const uuid = firstValue(entry, 'entryUUID');
      if (uuid === undefined) continue;
      const change = upsertOf(entry, this.#mapping);
      present.set(uuid, { uuid, dn: entry.dn, type: change.type });
      changes.push(change);
      if (changes.length >= snapshotBatch) {
        yield { changes, checkpoint: during };
        this.#context.logger.info({ base, entries: present.size }, 'snapshot progress');
        changes = [];
      }
    }
    if (signal.aborted) return;
    for await (const gone of this.#known.missing(present)) changes.push(deleteOf(gone.uuid, gone.dn, gone.type, undefined));
    const deleted = changes.filter((change) => change.op === 'delete').length;
    yield { changes, checkpoint: formatCookie({ csn, resync: false }) };
    // The core has stored the last batch: the snapshot is now what exists.
    await this.#known.replace(present);
    this.#context.logger.info({ base, entries: present.size, deleted }, 'snapshot done');
  }

  async *#schema(reader: LdapClient, csn: string | undefined): AsyncGenerator<SourceBatch> {
    const subschema = await readSubschema(reader).catch((error: unknown) => {
      throw asSourceError(error);
    });
    if (subschema === undefined) {
      this.#context.logger.warn('no subschema subentry readable: schema not published');
      return;
    }
    yield { changes: [schemaChange(subschema)], checkpoint: formatCookie({ csn, resync: false }) };
  }

  /** Yields a batch, then (the core has stored it) remembers which entries exist. */
  async *#emit(batch: SourceBatch): AsyncGenerator<SourceBatch> {
    yield batch;
    await this.#known.record(batch.changes);
  }

  async *#persist(reader: LdapClient, csn: string | undefined, signal: AbortSignal): AsyncGenerator<SourceBatch> {
    const client = await this.#open();
    const search = client.sync(
      {
        base: this.#options.accesslogBase,
        scope: 'one',
        filter: this.#recordFilter(),
        attributes: RECORD_ATTRIBUTES,
        mode: 'refreshAndPersist',
        cookie: csn === undefined ? undefined : formatCookie({ csn, resync: false }),
      },
      signal,
    );
    const stream = search[Symbol.asyncIterator]();
    let next = stream.next();
    try {
      let position = csn;
      // A backlog (the refresh phase, or a burst) arrives faster than it is stored: the records
      // the stream already holds go out as one batch (one capture commit, concurrent lookups),
      // handed on as soon as the stream would wait, so a lone live change is not delayed.
      let records: AccesslogRecord[] = [];
      for (;;) {
        const result = records.length === 0 ? await next : await Promise.race([next, nextTurn()]);
        if (result === WOULD_WAIT || result.done || result.value.kind !== 'entry') {
          // Whatever comes next (nothing yet, a cookie, the end) follows the records before it.
          if (records.length > 0) yield* this.#emitRecords(reader, records);
          records = [];
          if (result === WOULD_WAIT) continue;
          if (result.done) return;
        }
        next = stream.next();
        const event = result.value;
        if (event.kind === 'entry') {
          // Purge deletes of log records: not changes of the directory.
          if (event.state.state === 'delete') continue;
          const record = recordOf(event.entry);
          position = record.csn;
          records.push(record);
          if (records.length >= this.#options.snapshotBatch) {
            yield* this.#emitRecords(reader, records);
            records = [];
          }
        } else if (event.kind === 'info') {
          // Filtered-out records (the replicator's own writes) still move the cookie.
          const cookie = 'cookie' in event.info && event.info.cookie ? cookieOf(event.info.cookie) : undefined;
          const refreshed = 'refreshDone' in event.info && event.info.refreshDone;
          position = cookie ?? position;
          // The end of the refresh is announced too: from here on the source is live (a readiness signal).
          if (cookie !== undefined || refreshed) yield { changes: [], checkpoint: formatCookie({ csn: position, resync: false }) };
        } else {
          throw new TransientError(ErrorCodes.LDAP_UNAVAILABLE, 'the server ended the refreshAndPersist search on the accesslog');
        }
      }
    } catch (error) {
      throw asSourceError(error);
    } finally {
      // The pending read ends (or fails) when the connection closes; nobody waits for it.
      next.catch(() => undefined);
      await this.#close(client);
      void stream.return?.(undefined).catch(() => undefined);
    }
  }

  /**
   * The changes of consecutive log records as batches of up to snapshotBatch records, each
   * checkpointed at its last record. The entries' current states are looked up concurrently
   * (a few at a time), and the batch keeps the log's order.
   */
  async *#emitRecords(reader: LdapClient, records: readonly AccesslogRecord[]): AsyncGenerator<SourceBatch> {
    const size = this.#options.snapshotBatch;
    for (let start = 0; start < records.length; start += size) {
      const part = records.slice(start, start + size);
      const changes: SourceChange[] = [];
      for (let i = 0; i < part.length; i += LOOKUPS_IN_FLIGHT) {
        const found = await Promise.all(part.slice(i, i + LOOKUPS_IN_FLIGHT).map((record) => this.#changesOf(reader, record)));
        for (const list of found) changes.push(...list);
      }
      const last = part.at(-1) as AccesslogRecord;
      yield* this.#emit({ changes, checkpoint: formatCookie({ csn: last.csn, resync: false }) });
    }
  }

  /** Fallback without syncprov on the log: search it by entryCSN (never reqStart: not commit order). */
  async *#poll(reader: LdapClient, csn: string | undefined, signal: AbortSignal): AsyncGenerator<SourceBatch> {
    let cursor = csn;
    let caughtUp = false;
    while (!signal.aborted) {
      const since = cursor === undefined ? '' : `(entryCSN>=${escapeFilterValue(cursor)})`;
      const filter = `(&${this.#recordFilter()}${since})`;
      const records: AccesslogRecord[] = [];
      try {
        for await (const entry of reader.search(
          { base: this.#options.accesslogBase, scope: 'one', filter, attributes: RECORD_ATTRIBUTES },
          signal,
        )) {
          const record = recordOf(entry);
          if (cursor === undefined || record.csn > cursor) records.push(record);
          // The log is stored in CSN order, so a prefix is safe; leaving the loop abandons the search.
          if (records.length >= POLL_PAGE) break;
        }
      } catch (error) {
        throw asSourceError(error);
      }
      records.sort((a, b) => (a.csn < b.csn ? -1 : a.csn > b.csn ? 1 : 0));
      cursor = records.at(-1)?.csn ?? cursor;
      yield* this.#emitRecords(reader, records);
      if (records.length === 0) {
        // Caught up: say so once, as the persist search does at the end of its refresh.
        if (!caughtUp) yield { changes: [], checkpoint: formatCookie({ csn: cursor, resync: false }) };
        caughtUp = true;
        await sleep(this.#options.pollIntervalMs, undefined, { signal }).catch(() => undefined);
      }
    }
  }

  #recordFilter(): string {
    const parts = ['(objectClass=auditWriteObject)', '(reqResult=0)'];
    if (this.#options.replicatorDn) parts.push(`(!(reqAuthzID=${escapeFilterValue(this.#options.replicatorDn)}))`);
    return `(&${parts.join('')})`;
  }

  /** The change a log record stands for, with the entry's complete current state. */
  async #changesOf(reader: LdapClient, record: AccesslogRecord): Promise<SourceChange[]> {
    const { base } = this.#options;
    const inside = isWithin(record.dn, base) || (record.newDn !== undefined && isWithin(record.newDn, base));
    if (!inside) return [];
    if (record.type === 'delete') {
      const uuid = record.entryUuid ?? firstOld(record, 'entryUUID');
      if (uuid === undefined) return [];
      const type = firstOld(record, 'structuralObjectClass') ?? typeOf({ dn: record.dn, attributes: record.old });
      return [deleteOf(uuid, record.dn, type, record.csn)];
    }
    const uuid = record.entryUuid ?? record.modifications.find((m) => m.type === 'entryUUID')?.values[0]?.toString();
    if (uuid === undefined) return [];
    const entry = await this.#current(reader, uuid);
    // Gone or out of the filter since: a later record (the delete, the move) speaks for it.
    if (entry === undefined) return [];
    return [upsertOf(entry, this.#mapping, { changed: changedBy(record), sourceCsn: record.csn })];
  }

  async #current(reader: LdapClient, uuid: string): Promise<LdapEntry | undefined> {
    const filter = `(&(entryUUID=${escapeFilterValue(uuid)})${this.#options.filter})`;
    try {
      return await first(reader, { base: this.#options.base, scope: 'sub', filter, attributes: ENTRY_ATTRIBUTES });
    } catch (error) {
      throw asSourceError(error);
    }
  }

  async #open(): Promise<LdapClient> {
    const { url, bindDn, password, timeoutMs } = this.#options;
    const client = await openLdapClient({ url, bindDn, password, timeoutMs });
    this.#clients.add(client);
    return client;
  }

  async #close(client: LdapClient): Promise<void> {
    this.#clients.delete(client);
    await client.close().catch(() => undefined);
  }
}

/** The attributes a logged write touched (operational ones are dropped by the mapping). */
function changedBy(record: AccesslogRecord): string[] {
  if (record.type === 'modrdn') {
    const names = rdnAttributes(rdnOf(record.dn));
    if (record.newDn !== undefined) names.push(...rdnAttributes(rdnOf(record.newDn)));
    return names;
  }
  return record.modifications.map((m) => m.type);
}

function firstOld(record: AccesslogRecord, attribute: string): string | undefined {
  const lower = attribute.toLowerCase();
  return record.old.find((a) => a.type.toLowerCase() === lower)?.values[0]?.toString('utf8');
}

async function first(client: LdapClient, params: Parameters<LdapClient['search']>[0]): Promise<LdapEntry | undefined> {
  let found: LdapEntry | undefined;
  try {
    // Read to the end rather than abandon: these searches return one entry at most.
    for await (const entry of client.search(params)) found ??= entry;
  } catch (error) {
    // noSuchObject on a base search: the entry (or the log's root) is not there.
    if (error instanceof LdapResultError && error.resultCode === 32) return undefined;
    throw error;
  }
  return found;
}

function asSourceError(error: unknown): unknown {
  if (error instanceof SyncError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new NotConnectedError(ErrorCodes.LDAP_UNAVAILABLE, `LDAP capture interrupted: ${message}`, { cause: error });
}
