import { ErrorCodes, type ApplyOutcome, type PluginContext, type PluginStore, type Sink, type SinkOperation } from 'pubsync/plugin-api';
import { storeScope, type SinkOptions } from './config.js';
import { CouchError, createCouchClient, databaseError, type BulkResult, type CouchClient, type CouchDoc } from './couch-client.js';
import { planDocument } from './document-plan.js';
import { docIdOf, type DocumentLayout } from './mapping.js';

interface Pending {
  readonly index: number;
  readonly id: string;
  readonly operation: SinkOperation;
}

/**
 * Key in the shared store under which the sink records the revision it last wrote. The source
 * skips a revision stored as is; one stored with CARRIED_MARK in front it reports (see below).
 */
export function writtenRevKey(id: string): string {
  return `rev:${id}`;
}

/** Marks a revision the sink wrote on top of someone else's: it carries their change too. */
const CARRIED_MARK = '~';

/**
 * Writes entries with _bulk_docs, after reading the current revisions in bulk (_all_docs with
 * keys). A 409 means someone wrote the document between the read and the write: it is re-read,
 * merged by CSN (planDocument) and retried, never overwritten blindly. A document CouchDB refuses
 * comes back 'rejected' with CouchDB's error; the rest of the batch goes on.
 */
export class CouchDbSink implements Sink {
  readonly #options: SinkOptions;
  readonly #context: PluginContext;
  readonly #client: CouchClient;
  readonly #store: PluginStore;
  readonly #layout: DocumentLayout;

  constructor(options: SinkOptions, context: PluginContext, client: CouchClient = createCouchClient(options)) {
    this.#options = options;
    this.#context = context;
    this.#client = client;
    this.#store = context.store(storeScope(options));
    this.#layout = options;
  }

  async apply(batch: readonly SinkOperation[], signal: AbortSignal): Promise<readonly ApplyOutcome[]> {
    const outcomes: (ApplyOutcome | undefined)[] = new Array<ApplyOutcome | undefined>(batch.length);
    let pending: Pending[] = batch.map((operation, index) => ({
      index,
      operation,
      id: docIdOf(operation.entry, operation.localKey),
    }));
    // One round writes each id at most once, so later operations on the same document see the earlier ones.
    while (pending.length > 0) {
      const round: Pending[] = [];
      const later: Pending[] = [];
      const ids = new Set<string>();
      for (const item of pending) {
        if (ids.has(item.id) || round.length >= this.#options.batchSize) later.push(item);
        else {
          ids.add(item.id);
          round.push(item);
        }
      }
      await this.#applyRound(round, outcomes, signal);
      pending = later;
    }
    return outcomes.map((outcome, i) => outcome ?? { status: 'skipped', reason: `operation ${i} produced no outcome` });
  }

  async close(): Promise<void> {
    // Every write is complete when apply() returns; nano keeps no connection state to release.
  }

  async #applyRound(round: readonly Pending[], outcomes: (ApplyOutcome | undefined)[], signal: AbortSignal): Promise<void> {
    let todo = round;
    for (let attempt = 0; todo.length > 0; attempt++) {
      if (attempt > this.#options.conflictRetries) {
        for (const item of todo) {
          outcomes[item.index] = {
            status: 'conflict',
            reason: `${ErrorCodes.COUCHDB_CONFLICT_RETRIES}: document ${item.id} still conflicted after ${this.#options.conflictRetries} re-read and merge rounds`,
            localKey: item.id,
          };
        }
        return;
      }
      signal.throwIfAborted();
      const current = await this.#client
        .current(
          todo.map((item) => item.id),
          signal,
        )
        .catch((error: unknown) => {
          throw databaseError(error, this.#client.databaseUrl);
        });
      const writes: { item: Pending; doc: CouchDoc; ours: boolean; left: readonly string[] | undefined }[] = [];
      for (const item of todo) {
        const state = current.get(item.id) ?? { state: 'missing' };
        // Ours alone only if nobody wrote the document since our last write: a revision built on
        // someone else's carries their change too, which the source must report (the core knows
        // what in it is the echo of this write).
        const last = state.state === 'live' ? await this.#store.get(writtenRevKey(item.id)) : undefined;
        const ours = state.state !== 'live' || last === state.rev || last === `${CARRIED_MARK}${state.rev}`;
        if (state.state === 'live' && state.doc._conflicts?.length) await this.#reportConflicts(item.id, state.doc._conflicts);
        const plan = planDocument({
          id: item.id,
          entry: item.operation.entry,
          fields: item.operation.fields,
          ...(item.operation.removeOnly ? { removeOnly: true } : {}),
          ...(item.operation.expected ? { expected: item.operation.expected } : {}),
          current: state,
          layout: this.#layout,
          writer: writerOf(this.#context.replica),
        });
        if (plan.kind === 'done') outcomes[item.index] = plan.outcome;
        else writes.push({ item, doc: plan.doc, ours, left: plan.left });
      }
      const results = await this.#write(
        writes.map(({ doc }) => doc),
        signal,
      );
      const conflicted: Pending[] = [];
      await Promise.all(
        writes.map(async ({ item, ours, left }, i) => {
          const result = results[i];
          if (result?.ok) {
            await this.#store.put(writtenRevKey(item.id), ours ? result.rev : `${CARRIED_MARK}${result.rev}`);
            outcomes[item.index] = { status: 'applied', localKey: item.id, ...(left && left.length > 0 ? { left } : {}) };
          } else if (result?.error === 'conflict') {
            conflicted.push(item);
          } else {
            outcomes[item.index] = rejected(item.id, result?.error ?? 'unknown_error', result?.reason ?? 'no result');
          }
        }),
      );
      if (conflicted.length > 0) {
        this.#context.logger.info({ documents: conflicted.length, attempt }, 'documents changed under the sink: re-reading and merging');
      }
      todo = conflicted.sort((a, b) => a.index - b.index);
    }
  }

  /**
   * One _bulk_docs. When CouchDB refuses the request as a whole (a bad id, a body too large), each
   * document is written alone so the refusal lands on the one that caused it.
   */
  async #write(docs: readonly CouchDoc[], signal: AbortSignal): Promise<readonly BulkResult[]> {
    if (docs.length === 0) return [];
    try {
      return await this.#client.bulkDocs(docs, signal);
    } catch (error) {
      if (!(error instanceof CouchError)) throw error;
      if (docs.length === 1) return [{ id: docs[0]?._id ?? '', ok: false, error: error.error, reason: error.reason }];
      const results: BulkResult[] = [];
      for (const doc of docs) results.push(...(await this.#write([doc], signal)));
      return results;
    }
  }

  async #reportConflicts(id: string, revs: readonly string[]): Promise<void> {
    this.#context.logger.warn(
      { code: ErrorCodes.COUCHDB_DOC_CONFLICTS, docId: id, conflicts: revs },
      'CouchDB holds conflicting revisions of a document',
    );
    await this.#store.put(`conflicts:${id}`, JSON.stringify(revs));
  }
}

function rejected(id: string, error: string, reason: string): ApplyOutcome {
  return {
    status: 'rejected',
    code: ErrorCodes.COUCHDB_REJECTED,
    reason: `CouchDB refused ${id}: ${error}: ${reason}`,
    details: { docId: id, error, reason },
  };
}

function writerOf(replica: PluginContext['replica']): { replica: number; jid?: string } {
  return replica.jid === undefined ? { replica: replica.id } : { replica: replica.id, jid: replica.jid };
}
