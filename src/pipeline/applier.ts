import type { Logger } from 'pino';
import { ErrorCodes, SyncError, wrapPluginError } from '../errors/index.js';
import type { Attachment, Entry } from '../format/model.js';
import type { AttachmentResolver } from './attachment-resolver.js';
import type { ApplyOutcome, Sink, SinkOperation, Transform } from '../plugin-api/roles.js';
import type { AppliedObject, StateStore } from '../state/state-store.js';
import { merge, type MergeDecision } from './merge.js';

/** Bytes of fetched attachments held before the operations so far are handed to the sink. */
const MAX_FETCHED_BYTES = 64 * 1024 * 1024;

export interface ApplierOptions {
  /** The subscription (where dead letters say they came from). */
  readonly subscription: string;
  readonly sinkName: string;
  readonly sink: Sink;
  readonly transform?: Transform;
  readonly store: StateStore;
  readonly serialize: (entry: Entry) => string;
  readonly logger: Logger;
  /** Fetches attachments that came by reference before the sink sees them; without it they reach the sink as they came. */
  readonly attachments?: AttachmentResolver;
}

export interface ApplyReport {
  applied: number;
  skipped: number;
  conflicts: number;
  deadLettered: number;
}

/** The origin position a batch brings the subscription to, recorded with the batch's effects. */
export interface HighWater {
  readonly origin: string;
  readonly seq: bigint;
}

/**
 * The inbound stage for one subscription: transform, merge by CSN against what the sink applied
 * before, apply, and record the outcome. Every bad entry ends in the dead-letter store with its
 * reason; the rest of the batch goes on. A transient failure of the sink throws, and the caller
 * retries the whole batch, which is safe because apply is idempotent and merging skips what landed.
 */
export class Applier {
  readonly #options: ApplierOptions;

  constructor(options: ApplierOptions) {
    this.#options = options;
  }

  async apply(entries: readonly Entry[], signal: AbortSignal, highWater?: HighWater): Promise<ApplyReport> {
    const report: ApplyReport = { applied: 0, skipped: 0, conflicts: 0, deadLettered: 0 };
    const transformed = await this.#transform(entries, signal, report);
    const { store, sinkName } = this.#options;

    let operations: SinkOperation[] = [];
    let decisions: Exclude<MergeDecision, { action: 'skip' }>[] = [];
    let fetchedBytes = 0;
    // What this batch has decided so far: a later revision of the same object in the same batch
    // (or an older one, out of order) is merged against it, not against the state before the batch.
    const decided = new Map<string, AppliedObject>();
    for (const merged of transformed) {
      const applied = decided.get(merged.id) ?? store.getApplied(sinkName, merged.id);
      const decision = merge(applied, merged);
      if (decision.action === 'skip') {
        report.skipped++;
        continue;
      }
      decided.set(merged.id, { ...decision.next, localKey: applied?.localKey });
      const entry = await this.#withAttachments(merged, applied, signal, report);
      if (!entry) continue;
      operations.push({
        entry,
        fields: decision.action === 'apply' ? decision.fields : [],
        ...(applied?.localKey === undefined ? {} : { localKey: applied.localKey }),
      });
      decisions.push(decision);
      if (entry !== merged) fetchedBytes += fetchedBytesOf(entry);
      // Fetched attachments are held until the sink call: hand them over before they pile up.
      if (fetchedBytes >= MAX_FETCHED_BYTES) {
        await this.#applyAndRecord(operations, decisions, signal, report, undefined);
        [operations, decisions, fetchedBytes] = [[], [], 0];
      }
    }
    await this.#applyAndRecord(operations, decisions, signal, report, highWater);
    return report;
  }

  async #applyAndRecord(
    operations: readonly SinkOperation[],
    decisions: readonly Exclude<MergeDecision, { action: 'skip' }>[],
    signal: AbortSignal,
    report: ApplyReport,
    highWater: HighWater | undefined,
  ): Promise<void> {
    const { store } = this.#options;
    const outcomes = operations.length > 0 ? await this.#sinkApply(operations, signal) : [];
    store.transaction(() => {
      outcomes.forEach((outcome, i) => {
        const operation = operations[i];
        const decision = decisions[i];
        if (!operation || !decision) return;
        this.#record(outcome, operation, decision.next, report);
      });
      if (highWater) store.setHighWater(this.#options.subscription, highWater.origin, highWater.seq);
    });
  }

  #record(
    outcome: ApplyOutcome,
    operation: SinkOperation,
    next: { globalId: string; csns: Readonly<Record<string, string>>; csn: string; deleted: boolean },
    report: ApplyReport,
  ): void {
    const { store, sinkName, subscription } = this.#options;
    switch (outcome.status) {
      case 'applied':
        store.putApplied(sinkName, { ...next, localKey: outcome.localKey });
        report.applied++;
        return;
      case 'skipped':
        report.skipped++;
        return;
      case 'conflict':
        store.addConflict({
          kind: 'conflict',
          where: `sink:${sinkName}`,
          globalId: operation.entry.id,
          details: { reason: outcome.reason, subscription, csn: operation.entry.csn },
        });
        this.#options.logger.warn({ entryId: operation.entry.id, reason: outcome.reason }, 'conflict in sink');
        report.conflicts++;
        return;
      case 'rejected':
        this.#deadLetter(operation.entry, outcome.code, outcome.reason, { ...outcome.details, sink: sinkName });
        report.deadLettered++;
        return;
    }
  }

  /**
   * The entry with the bytes of its attachments by reference, fetched from the origin; undefined
   * when one could not be had for good (the entry is dead-lettered). A transient failure throws.
   */
  async #withAttachments(entry: Entry, applied: AppliedObject | undefined, signal: AbortSignal, report: ApplyReport): Promise<Entry | undefined> {
    const resolver = this.#options.attachments;
    if (!resolver || entry.deleted) return entry;
    // The sink already holds the revision of an attachment it applied with the same CSN.
    const missing = (a: Attachment): boolean => a.data === undefined && a.href !== undefined && applied?.csns[`attachment:${a.name}`] !== a.csn;
    if (!entry.attachments.some(missing)) return entry;
    const attachments: Attachment[] = [];
    try {
      for (const attachment of entry.attachments) {
        attachments.push(missing(attachment) ? { ...attachment, data: await resolver.resolve(attachment, entry, signal) } : attachment);
      }
    } catch (error) {
      if (!isRecordFailure(error)) throw error;
      this.#deadLetter(entry, error.code, error.message, { ...error.details, stage: 'attachment' });
      report.deadLettered++;
      return undefined;
    }
    return { ...entry, attachments };
  }

  async #transform(entries: readonly Entry[], signal: AbortSignal, report: ApplyReport): Promise<readonly Entry[]> {
    const { transform } = this.#options;
    if (!transform) return entries;
    try {
      return await transform.apply(entries, signal);
    } catch (error) {
      if (!isRecordFailure(error) || entries.length === 0) throw error;
    }
    // The batch failed on some entry: run them one by one so only the bad ones are dead-lettered.
    const out: Entry[] = [];
    for (const entry of entries) {
      try {
        out.push(...(await transform.apply([entry], signal)));
      } catch (error) {
        if (!isRecordFailure(error)) throw error;
        this.#deadLetter(entry, error.code, error.message, { ...error.details, stage: 'transform' });
        report.deadLettered++;
      }
    }
    return out;
  }

  async #sinkApply(operations: readonly SinkOperation[], signal: AbortSignal): Promise<readonly ApplyOutcome[]> {
    try {
      return await this.#sinkCall(operations, signal);
    } catch (error) {
      if (!isRecordFailure(error)) throw error;
      if (operations.length === 1) return [rejected(error)];
    }
    // A sink that throws a record error for a batch: find the bad operations one by one.
    const outcomes: ApplyOutcome[] = [];
    for (const operation of operations) {
      try {
        outcomes.push(...(await this.#sinkCall([operation], signal)));
      } catch (error) {
        if (!isRecordFailure(error)) throw error;
        outcomes.push(rejected(error));
      }
    }
    return outcomes;
  }

  async #sinkCall(operations: readonly SinkOperation[], signal: AbortSignal): Promise<readonly ApplyOutcome[]> {
    const { sink, sinkName } = this.#options;
    let outcomes: readonly ApplyOutcome[];
    try {
      outcomes = await sink.apply(operations, signal);
    } catch (error) {
      throw wrapPluginError(error, `sink:${sinkName}`, 'apply');
    }
    if (outcomes.length !== operations.length) {
      throw new SyncError(
        ErrorCodes.PLUGIN_INVALID,
        'transient',
        `sink returned ${outcomes.length} outcomes for ${operations.length} operations`,
        { plugin: `sink:${sinkName}` },
      );
    }
    return outcomes;
  }

  #deadLetter(entry: Entry, code: string, message: string, details: Record<string, unknown>): void {
    const { store, subscription, serialize, logger } = this.#options;
    store.addDeadLetter({
      where: `subscription:${subscription}`,
      entryId: entry.id,
      payload: serialize(entry),
      code,
      message,
      details,
    });
    logger.warn({ entryId: entry.id, code, reason: message }, 'entry dead-lettered');
  }
}

function fetchedBytesOf(entry: Entry): number {
  if (entry.deleted) return 0;
  return entry.attachments.reduce((n, a) => n + (a.href === undefined ? 0 : (a.data?.length ?? 0)), 0);
}

function rejected(error: SyncError): ApplyOutcome {
  return { status: 'rejected', code: error.code, reason: error.message, details: error.details };
}

function isRecordFailure(error: unknown): error is SyncError {
  return error instanceof SyncError && error.kind === 'record';
}
