import { ErrorCodes } from '../errors/index.js';
import { parseEntry } from '../format/index.js';
import type { Entry } from '../format/model.js';
import type { Logger } from '../logging/logger.js';
import type { ApplyReport } from '../pipeline/applier.js';
import type { DeadLetter, StateStore } from '../state/state-store.js';
import type { AdminTarget } from './admin-target.js';

/** plugin_kv scope of the retries asked for while the daemon was stopped: key "all" or "id:<n>". */
export const DLQ_RETRY_SCOPE = 'pubsync:dlq-retry';
const PAGE = 200;

export type RetryStatus =
  /** Applied by the sink: the dead letter is gone. */
  | 'applied'
  /** The sink already holds this revision or a newer one, or the transform drops it now: the dead letter is gone. */
  | 'obsolete'
  /** It met a concurrent change and was recorded as a conflict (see `pubsync status`): the dead letter is gone. */
  | 'conflict'
  /** It failed again: kept, with the new reason and the retry count carried over (under a new id). */
  | 'failed'
  /** The sink could not be reached: kept under the same id, retry count incremented. */
  | 'unavailable'
  /** Retrying cannot help (not an entry, refused for trust, or from a source or the publisher): kept as it was. */
  | 'not-retryable'
  | 'not-found';

export interface RetryOutcome {
  readonly id: number;
  readonly status: RetryStatus;
  readonly message: string;
  /** The id the letter lives on under when it failed again. */
  readonly newId?: number;
  readonly code?: string;
  readonly retries?: number;
}

/** Records a retry for the daemon to perform at its next start. */
export function requestRetry(store: StateStore, what: number | 'all'): void {
  store.kvPut(DLQ_RETRY_SCOPE, what === 'all' ? 'all' : `id:${what}`, new Date().toISOString());
}

/** Checked between two letters: once the daemon stops, the rest is left for later. */
export type Stopping = () => boolean;

/** Performs the retries recorded while the daemon was stopped, and forgets them (unless the daemon stopped first). */
export async function performRequestedRetries(target: AdminTarget, store: StateStore, logger: Logger, stopping: Stopping = () => false): Promise<RetryOutcome[]> {
  const requested = store.kvEntries(DLQ_RETRY_SCOPE, '', undefined, 10_000);
  if (requested.length === 0) return [];
  const keys = requested.map(([key]) => key);
  const ids = keys.filter((key) => key.startsWith('id:')).map((key) => Number(key.slice(3)));
  const outcomes = keys.includes('all') ? await retryAll(target, store, stopping) : await retryIds(target, store, ids, stopping);
  if (stopping()) {
    logger.info({ requested: keys, outcomes }, 'the daemon stopped while performing requested dead-letter retries; the rest is performed at the next start');
    return outcomes;
  }
  for (const key of keys) store.kvDelete(DLQ_RETRY_SCOPE, key);
  logger.info({ requested: keys, outcomes }, 'dead-letter retries requested while stopped performed');
  return outcomes;
}

export async function retryIds(target: AdminTarget, store: StateStore, ids: readonly number[], stopping: Stopping = () => false): Promise<RetryOutcome[]> {
  const outcomes: RetryOutcome[] = [];
  for (const id of ids) {
    if (stopping()) break;
    outcomes.push(await retryDeadLetter(target, store, id));
  }
  return outcomes;
}

/** Every dead letter there is now; the ones a failed retry writes again are not retried in the same run. */
export async function retryAll(target: AdminTarget, store: StateStore, stopping: Stopping = () => false): Promise<RetryOutcome[]> {
  const last = lastDeadLetterId(store);
  const outcomes: RetryOutcome[] = [];
  for (let afterId = 0; afterId < last && !stopping(); ) {
    const page = store.listDeadLetters({ afterId, limit: PAGE }).filter((letter) => letter.id <= last);
    for (const letter of page) {
      if (stopping()) break;
      outcomes.push(await retryDeadLetter(target, store, letter.id));
    }
    const end = page.at(-1);
    if (!end || page.length < PAGE) break;
    afterId = end.id;
  }
  return outcomes;
}

/**
 * Re-feeds a subscription's dead letter through that subscription's inbound path (transform,
 * merge, sink) and removes it once it is settled. Dead letters of other stages stay: a source's
 * holds what the source read, not an entry, and the publisher's is an entry too large to publish;
 * both are cured by fixing the cause, after which the object's next change goes through.
 */
export async function retryDeadLetter(target: AdminTarget, store: StateStore, id: number): Promise<RetryOutcome> {
  const letter = store.getDeadLetter(id);
  if (!letter) return { id, status: 'not-found', message: `no dead letter with id ${id}` };
  const refusal = notRetryable(letter);
  if (refusal) return { id, status: 'not-retryable', message: refusal, code: letter.code };
  const subscription = letter.where.slice('subscription:'.length);
  let entry: Entry;
  try {
    entry = parseEntry(letter.payload as string);
  } catch (error) {
    return { id, status: 'not-retryable', message: `its payload is not an Atom entry: ${error instanceof Error ? error.message : String(error)}` };
  }
  const before = lastDeadLetterId(store);
  let report: ApplyReport | undefined;
  try {
    report = await target.retryEntries(subscription, [entry], wasTransformed(letter));
  } catch (error) {
    store.markRetried(id);
    const retries = letter.retries + 1;
    return { id, status: 'unavailable', message: `kept: ${error instanceof Error ? error.message : String(error)}`, retries };
  }
  if (!report) return { id, status: 'not-retryable', message: `no subscription named ${subscription} is running (is it still in the config?)` };
  if (report.deadLettered > 0) return failedAgain(store, letter, entry, before);
  store.deleteDeadLetter(id);
  if (report.applied > 0) return { id, status: 'applied', message: `applied through subscription ${subscription}` };
  if (report.conflicts > 0) return { id, status: 'conflict', message: 'recorded as a conflict with a concurrent change (see `pubsync status`)' };
  if (report.skipped > 0) return { id, status: 'obsolete', message: 'the sink already holds this revision or a newer one' };
  return { id, status: 'obsolete', message: 'nothing left to apply: the transform drops the entry now' };
}

/**
 * The applier wrote the entry's new failure as a new dead letter: that one stays, with the retry
 * count of the old one plus this retry, and the old one goes. (The state store has no update of a
 * dead letter's reason, so the id changes.)
 */
function failedAgain(store: StateStore, letter: DeadLetter, entry: Entry, before: number): RetryOutcome {
  const fresh = store
    .listDeadLetters({ afterId: before, limit: PAGE })
    .find((candidate) => candidate.where === letter.where && candidate.entryId === entry.id);
  if (!fresh) {
    store.markRetried(letter.id);
    return { id: letter.id, status: 'failed', message: 'failed again', retries: letter.retries + 1 };
  }
  store.transaction(() => {
    for (let i = 0; i <= letter.retries; i++) store.markRetried(fresh.id);
    store.deleteDeadLetter(letter.id);
  });
  return { id: letter.id, status: 'failed', message: fresh.message, code: fresh.code, newId: fresh.id, retries: letter.retries + 1 };
}

/**
 * Whether the letter holds the entry as the subscription's transform made it: the sink refused it
 * or its attachments could not be fetched (the applier dead-letters the transformed entry then);
 * a transform failure holds the entry as it arrived.
 */
export function wasTransformed(letter: DeadLetter): boolean {
  const details = letter.details ?? {};
  return details['stage'] !== 'transform' && ('sink' in details || details['stage'] === 'attachment');
}

/** Why retrying this dead letter cannot help; undefined when it can be retried. */
export function notRetryable(letter: DeadLetter): string | undefined {
  if (letter.where.startsWith('source:')) {
    return 'it holds what a source read, not an entry: fix the cause at the source; the object is captured again at its next change (or resync), then drop this letter';
  }
  if (letter.where === 'transport') {
    return 'the publisher refused the entry itself (too large for an item): raise xmpp.publish.maxBytes / stanzaLimit or shrink the object; its next change is published, then drop this letter';
  }
  if (!letter.where.startsWith('subscription:')) return `dead letters from "${letter.where}" are not retried`;
  if (letter.code === ErrorCodes.TRANSPORT_UNTRUSTED || letter.code === ErrorCodes.FORMAT_INVALID) {
    return 'it was refused for where it came from (a read-only peer, a wrong origin or a malformed item): retrying would bypass that check';
  }
  if (typeof letter.payload !== 'string') return 'its payload is binary, not an Atom entry';
  return undefined;
}

/** The highest dead letter id (0 when none), by a galloping then binary search on listDeadLetters: a few indexed reads. */
export function lastDeadLetterId(store: StateStore): number {
  const exists = (afterId: number): boolean => store.listDeadLetters({ afterId, limit: 1 }).length > 0;
  if (!exists(0)) return 0;
  let low = 0;
  let high = 1;
  while (exists(high)) {
    low = high;
    high *= 2;
  }
  // A letter exists after low, none after high.
  while (high - low > 1) {
    const mid = Math.floor((low + high) / 2);
    if (exists(mid)) low = mid;
    else high = mid;
  }
  return high;
}
