import {
  ErrorCodes,
  NotConnectedError,
  TransientError,
  type AttachmentContent,
  type ChangeAttachment,
  type PluginContext,
  type PluginStore,
  type Source,
  type SourceBatch,
  type SourceChange,
  type SourceKey,
} from 'pubsync/plugin-api';
import { storeScope, type SourceOptions } from './config.js';
import { CouchError, createCouchClient, databaseError, type ChangeRow, type CouchClient, type CouchDoc } from './couch-client.js';
import { writtenRevKey } from './couchdb-sink.js';
import { KEY_SCHEME, fieldOf, fieldsOf, metaOf, tagsOf, typeOf, type DocumentLayout } from './mapping.js';

/** The field that carries attachments too large to fetch, by reference (see docs/adapters/couchdb.md). */
export const ATTACHMENT_REFS_FIELD = 'couchdbAttachmentRefs';

/** Attachment bytes fetched before a batch is handed over, so a batch of large attachments stays bounded. */
const MAX_BATCH_ATTACHMENT_BYTES = 32 * 1024 * 1024;

/**
 * Follows /db/_changes as a longpoll feed with include_docs, from the committed checkpoint (the
 * seq, kept opaque). Each response becomes one or more batches whose checkpoint is the seq of
 * their last row, so a restart resumes exactly after what was committed. When the server goes
 * away the source reconnects with backoff from where it is.
 */
export class CouchDbSource implements Source {
  readonly #options: SourceOptions;
  readonly #context: PluginContext;
  readonly #client: CouchClient;
  readonly #store: PluginStore;
  readonly #layout: DocumentLayout;

  constructor(options: SourceOptions, context: PluginContext, client: CouchClient = createCouchClient(options)) {
    this.#options = options;
    this.#context = context;
    this.#client = client;
    this.#store = context.store(storeScope(options));
    this.#layout = options;
  }

  async *start(from: string | undefined, signal: AbortSignal): AsyncIterable<SourceBatch> {
    const position = { since: from ?? '0' };
    let delayMs = 0;
    while (!signal.aborted) {
      try {
        yield* this.#readOnce(position, signal);
        delayMs = 0;
      } catch (error) {
        if (signal.aborted) return;
        if (!(error instanceof NotConnectedError || error instanceof TransientError)) {
          throw databaseError(error, this.#client.databaseUrl);
        }
        // Retried from the last seq yielded: nothing is skipped, nothing yielded twice.
        delayMs = Math.min(this.#options.reconnectMaxMs, Math.max(this.#options.reconnectMinMs, delayMs * 2));
        this.#context.logger.warn({ err: error, code: error.code, retryInMs: delayMs }, 'CouchDB unavailable, reconnecting');
        if (!(await sleep(delayMs, signal))) return;
      }
    }
  }

  /** One longpoll: its rows as one batch (or several, when their attachments are large). */
  async *#readOnce(position: { since: string }, signal: AbortSignal): AsyncIterable<SourceBatch> {
    const selector = this.#selector();
    const response = await this.#client.changes(
      {
        since: position.since,
        limit: this.#options.batchSize,
        timeoutMs: this.#options.longpollTimeoutMs,
        ...(selector === undefined ? {} : { selector }),
      },
      signal,
    );
    const lastSeq = checkpointOf(response.last_seq);
    let changes: SourceChange[] = [];
    let attachmentBytes = 0;
    for (const [i, row] of response.results.entries()) {
      const change = await this.#changeOf(row, signal);
      if (change !== undefined) {
        changes.push(change);
        if (change.op === 'upsert') attachmentBytes += (change.attachments ?? []).reduce((n, a) => n + a.data.length, 0);
      }
      const isLast = i === response.results.length - 1;
      if (attachmentBytes >= MAX_BATCH_ATTACHMENT_BYTES && !isLast) {
        const checkpoint = checkpointOf(row.seq);
        yield { changes, checkpoint };
        position.since = checkpoint;
        changes = [];
        attachmentBytes = 0;
      }
    }
    // Fewer rows than asked for: nothing more is waiting right now (what `sync --once` waits for).
    const caughtUp = response.results.length < this.#options.batchSize;
    if (changes.length > 0 || lastSeq !== position.since || caughtUp) yield { changes, checkpoint: lastSeq, caughtUp };
    position.since = lastSeq;
  }

  /**
   * The current bytes of one attachment, for a peer that fetches it by reference: the document's
   * current revision by _id, then that revision's attachment. A document or attachment that is
   * gone (or was replaced between the two reads) is undefined; the newer change brings it along.
   */
  async readAttachment(keys: readonly SourceKey[], name: string, signal: AbortSignal): Promise<AttachmentContent | undefined> {
    const id = keys.find((key) => key.scheme === KEY_SCHEME)?.value;
    if (id === undefined) return undefined;
    const current = (
      await this.#client.current([id], signal).catch((error: unknown) => {
        throw databaseError(error, this.#client.databaseUrl);
      })
    ).get(id);
    if (current?.state !== 'live') return undefined;
    const stub = current.doc._attachments?.[name];
    // Larger ones were never handed to the core (they travel as couchdbAttachmentRefs): not served either.
    if (!stub || (stub.length ?? 0) > this.#options.maxAttachmentBytes) return undefined;
    try {
      const data = await this.#client.getAttachment(id, name, current.rev, signal);
      return { contentType: stub.content_type, data };
    } catch (error) {
      if (error instanceof CouchError && error.status === 404) return undefined;
      throw databaseError(error, this.#client.databaseUrl);
    }
  }

  async close(): Promise<void> {
    // Each _changes request ends with the signal that started it: nothing stays open.
  }

  #selector(): Record<string, unknown> | undefined {
    const { selector } = this.#options;
    // Tombstones carry no properties a selector could match: let deletes through.
    return selector === undefined ? undefined : { $or: [selector, { _deleted: true }] };
  }

  async #changeOf(row: ChangeRow, signal: AbortSignal): Promise<SourceChange | undefined> {
    if (row.id.startsWith('_design/') && !this.#options.includeDesign) return undefined;
    const rev = row.doc?._rev ?? row.changes[0]?.rev;
    // The sink wrote exactly this revision: publishing it would echo our own write back.
    if (rev !== undefined && (await this.#store.get(writtenRevKey(row.id))) === rev) return undefined;
    const keys = [{ scheme: KEY_SCHEME, value: row.id }];
    const doc = row.doc;
    const globalId = metaOf(doc, this.#layout)?.id;
    if (row.deleted === true || doc === undefined || doc._deleted === true) {
      return {
        op: 'delete',
        keys,
        type: doc ? typeOf(doc, this.#layout) : this.#layout.defaultType,
        ...(globalId === undefined ? {} : { globalId }),
      };
    }
    const type = typeOf(doc, this.#layout);
    if (this.#options.types !== undefined && !this.#options.types.includes(type)) return undefined;
    const fields = fieldsOf(doc, this.#layout);
    const { attachments, references } = await this.#attachmentsOf(doc, signal);
    if (references.length > 0) fields.push(fieldOf(ATTACHMENT_REFS_FIELD, references));
    const tags = tagsOf(doc, this.#layout);
    return {
      op: 'upsert',
      keys,
      type,
      ...(globalId === undefined ? {} : { globalId }),
      ...(tags.length > 0 ? { tags } : {}),
      fields,
      ...(attachments.length > 0 ? { attachments } : {}),
    };
  }

  /** Fetches the attachments of this revision as bytes; those above maxAttachmentBytes become references. */
  async #attachmentsOf(
    doc: CouchDoc,
    signal: AbortSignal,
  ): Promise<{ attachments: ChangeAttachment[]; references: { [key: string]: string | number }[] }> {
    const stubs = Object.entries(doc._attachments ?? {});
    if (stubs.length === 0) return { attachments: [], references: [] };
    const references = stubs
      .filter(([, stub]) => (stub.length ?? 0) > this.#options.maxAttachmentBytes)
      .map(([name, stub]) => ({
        name,
        contentType: stub.content_type,
        length: stub.length ?? 0,
        digest: stub.digest ?? '',
        href: `${this.#client.databaseUrl}/${encodeURIComponent(doc._id)}/${encodeURIComponent(name)}?rev=${doc._rev ?? ''}`,
      }));
    for (const reference of references) {
      this.#context.logger.warn(
        { code: ErrorCodes.COUCHDB_ATTACHMENT_BY_REFERENCE, docId: doc._id, attachment: reference.name, length: reference.length },
        'attachment larger than maxAttachmentBytes: carried by reference',
      );
    }
    if (references.length === stubs.length) return { attachments: [], references };
    const attachments: ChangeAttachment[] = [];
    if (references.length === 0) {
      // One request for all of them, base64 in the JSON: exact bytes whatever the content type.
      const full = await this.#client.getWithAttachments(doc._id, doc._rev ?? '', signal);
      for (const [name] of stubs) {
        const stub = full._attachments?.[name];
        if (stub?.data === undefined) {
          // Never publish the object without it: the change is read again after a backoff.
          throw new TransientError(ErrorCodes.COUCHDB_REQUEST_FAILED, `attachment ${name} of ${doc._id} came back without its data`, {
            details: { docId: doc._id, attachment: name },
          });
        }
        attachments.push({ name, contentType: stub.content_type, data: new Uint8Array(Buffer.from(stub.data, 'base64')) });
      }
    } else {
      // attachments=true would inline the large ones too: fetch the small ones one by one.
      for (const [name, stub] of stubs) {
        if (references.some((reference) => reference.name === name)) continue;
        const data = await this.#client.getAttachment(doc._id, name, doc._rev ?? '', signal);
        attachments.push({ name, contentType: stub.content_type, data });
      }
    }
    return { attachments, references };
  }
}

/** Sequences are opaque: strings on CouchDB 3, integers on PouchDB; kept as the text to send back. */
function checkpointOf(seq: unknown): string {
  return typeof seq === 'string' ? seq : JSON.stringify(seq);
}

function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve(false);
      return;
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
