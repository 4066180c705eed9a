import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { AdminTarget } from '../../../src/admin/admin-target.js';
import { DLQ_RETRY_SCOPE, lastDeadLetterId, notRetryable, requestRetry, retryAll, retryDeadLetter, wasTransformed } from '../../../src/admin/dlq-retry.js';
import { ErrorCodes } from '../../../src/errors/index.js';
import { serializeEntry } from '../../../src/format/index.js';
import type { Entry } from '../../../src/format/model.js';
import type { ApplyReport } from '../../../src/pipeline/applier.js';
import { openStateStore, type SqliteStateStore } from '../../../src/state/index.js';
import { csn, objectEntry, stringField } from '../../support/entries.js';

const REPORT: ApplyReport = { applied: 0, skipped: 0, conflicts: 0, deadLettered: 0 };

/**
 * The retry bookkeeping on a real SQLite state store. The daemon is stood in for by a target
 * whose inbound path does what the applier would (apply, or dead-letter again).
 */
describe('dead-letter retry bookkeeping', () => {
  let dir: string;
  let store: SqliteStateStore;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'pubsync-dlq-retry-'));
    store = openStateStore(join(dir, 'state.db'));
  });

  after(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function clear(): void {
    for (const letter of store.listDeadLetters({ limit: 10_000 })) store.deleteDeadLetter(letter.id);
  }

  function letterFor(entry: Entry, where = 'subscription:in'): number {
    return store.addDeadLetter({ where, entryId: entry.id, payload: serializeEntry(entry), code: 'PUBSYNC_ERR_SINK', message: 'refused' });
  }

  function target(outcome: (entries: readonly Entry[]) => ApplyReport | Error): AdminTarget & { calls: Entry[][] } {
    const calls: Entry[][] = [];
    return {
      calls,
      started: true,
      transport: null,
      inboundDepth: () => 0,
      retryEntries: (subscription, entries) => {
        if (subscription !== 'in') return undefined;
        calls.push([...entries]);
        const result = outcome(entries);
        return result instanceof Error ? Promise.reject(result) : Promise.resolve(result);
      },
      onCaptured: () => () => undefined,
      onReceived: () => () => undefined,
      onApplied: () => () => undefined,
    };
  }

  it('finds the highest dead letter id in a few reads, whatever the gaps', () => {
    clear();
    assert.equal(lastDeadLetterId(store), 0);
    const ids = Array.from({ length: 37 }, (_, i) => store.addDeadLetter({ where: 'transport', payload: String(i), code: 'X', message: 'm' }));
    assert.equal(lastDeadLetterId(store), ids.at(-1));
    store.deleteDeadLetter(ids.at(-1) ?? 0);
    store.deleteDeadLetter(ids[3] ?? 0);
    assert.equal(lastDeadLetterId(store), ids.at(-2));
  });

  it('a letter applied on retry is removed; the entry went through the subscription unchanged', async () => {
    clear();
    const entry = objectEntry({ id: 'urn:uuid:00000000-0000-4000-8000-000000000001', csn: csn(1), fields: [stringField('title', 'Ada', csn(1))] });
    const id = letterFor(entry);
    const daemon = target(() => ({ ...REPORT, applied: 1 }));
    assert.deepEqual(await retryDeadLetter(daemon, store, id), { id, status: 'applied', message: 'applied through subscription in' });
    assert.equal(daemon.calls[0]?.[0]?.id, entry.id);
    assert.equal(store.getDeadLetter(id), undefined);
  });

  it('a letter that fails again keeps the new reason and the retry count, under the new letter', async () => {
    clear();
    const entry = objectEntry({ id: 'urn:uuid:00000000-0000-4000-8000-000000000002', csn: csn(2) });
    const id = letterFor(entry);
    store.markRetried(id);
    const daemon = target((entries) => {
      store.addDeadLetter({ where: 'subscription:in', entryId: entries[0]?.id, payload: 'x', code: 'PUBSYNC_ERR_NEW', message: 'still refused' });
      return { ...REPORT, deadLettered: 1 };
    });
    const outcome = await retryDeadLetter(daemon, store, id);
    assert.equal(outcome.status, 'failed');
    assert.equal(outcome.code, 'PUBSYNC_ERR_NEW');
    assert.equal(outcome.retries, 2);
    assert.equal(store.getDeadLetter(id), undefined);
    const kept = store.getDeadLetter(outcome.newId ?? 0);
    assert.equal(kept?.message, 'still refused');
    assert.equal(kept?.retries, 2);
  });

  it('a sink that cannot be reached keeps the letter under its id, retry count incremented', async () => {
    clear();
    const id = letterFor(objectEntry({ id: 'urn:uuid:00000000-0000-4000-8000-000000000003', csn: csn(3) }));
    const outcome = await retryDeadLetter(target(() => new Error('connect ECONNREFUSED')), store, id);
    assert.equal(outcome.status, 'unavailable');
    assert.equal(store.getDeadLetter(id)?.retries, 1);
  });

  it('letters of sources, of the publisher, refused for trust, or of an unknown subscription are kept as they are', async () => {
    clear();
    const entry = objectEntry({ id: 'urn:uuid:00000000-0000-4000-8000-000000000004', csn: csn(4) });
    const daemon = target(() => ({ ...REPORT, applied: 1 }));
    const source = store.addDeadLetter({ where: 'source:people', payload: Uint8Array.of(1, 2), code: 'X', message: 'bad record' });
    const transport = store.addDeadLetter({ where: 'transport', entryId: entry.id, payload: serializeEntry(entry), code: ErrorCodes.TRANSPORT_TOO_LARGE, message: 'too large' });
    const untrusted = store.addDeadLetter({ where: 'subscription:in', entryId: entry.id, payload: serializeEntry(entry), code: ErrorCodes.TRANSPORT_UNTRUSTED, message: 'read-only' });
    const gone = letterFor(entry, 'subscription:removed');
    const outcomes = await retryAll(daemon, store);
    assert.deepEqual(
      outcomes.map((o) => [o.id, o.status]),
      [
        [source, 'not-retryable'],
        [transport, 'not-retryable'],
        [untrusted, 'not-retryable'],
        [gone, 'not-retryable'],
      ],
    );
    assert.equal(daemon.calls.length, 0, 'nothing was re-fed');
    assert.equal(store.countDeadLetters(), 4);
    assert.match(notRetryable(store.getDeadLetter(source)!) ?? '', /source/);
    assert.match(notRetryable(store.getDeadLetter(untrusted)!) ?? '', /bypass/);
    assert.match(outcomes[3]?.message ?? '', /no subscription named removed/);
  });

  it('retry --all does not retry in the same run the letters its own failures wrote', async () => {
    clear();
    letterFor(objectEntry({ id: 'urn:uuid:00000000-0000-4000-8000-000000000005', csn: csn(5) }));
    letterFor(objectEntry({ id: 'urn:uuid:00000000-0000-4000-8000-000000000006', csn: csn(6) }));
    const daemon = target((entries) => {
      store.addDeadLetter({ where: 'subscription:in', entryId: entries[0]?.id, payload: 'x', code: 'X', message: 'again' });
      return { ...REPORT, deadLettered: 1 };
    });
    const outcomes = await retryAll(daemon, store);
    assert.equal(outcomes.length, 2);
    assert.equal(daemon.calls.length, 2);
    assert.equal(store.countDeadLetters(), 2);
  });

  it('letters of the sink or attachment stage are re-fed past the transform, transform failures through it', async () => {
    clear();
    const letter = (details: Record<string, unknown> | undefined): number =>
      store.addDeadLetter({ where: 'subscription:in', entryId: 'e', payload: '<x/>', code: 'X', message: 'm', ...(details ? { details } : {}) });
    const cases: [Record<string, unknown> | undefined, boolean][] = [
      [{ sink: 'couch', status: 403 }, true],
      [{ stage: 'attachment' }, true],
      [{ stage: 'transform' }, false],
      [undefined, false],
    ];
    for (const [details, expected] of cases) {
      const read = store.getDeadLetter(letter(details));
      assert.ok(read);
      assert.equal(wasTransformed(read), expected, JSON.stringify(details));
    }
    clear();
    const id = store.addDeadLetter({
      where: 'subscription:in',
      entryId: 'urn:uuid:00000000-0000-4000-8000-000000000009',
      payload: serializeEntry(objectEntry({ id: 'urn:uuid:00000000-0000-4000-8000-000000000009', csn: csn(9) })),
      code: 'X',
      message: 'refused by the sink',
      details: { sink: 'out' },
    });
    let flag: boolean | undefined;
    const daemon = target(() => ({ ...REPORT, applied: 1 }));
    const retryEntries = daemon.retryEntries;
    await retryDeadLetter({ ...daemon, retryEntries: (s, e, transformed) => ((flag = transformed), retryEntries(s, e)) }, store, id);
    assert.equal(flag, true);
  });

  it('a request made while stopped is a plugin_kv record', () => {
    requestRetry(store, 7);
    requestRetry(store, 'all');
    assert.deepEqual(
      store.kvEntries(DLQ_RETRY_SCOPE, '', undefined, 10).map(([key]) => key),
      ['all', 'id:7'],
    );
  });
});
