import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { openStateStore, type SynchronousMode } from '../../../src/state/index.js';
import { outboundItems, tempDirectory } from './helpers.js';

// Measures, does not assert on time: machines differ too much. The rate is printed as a test
// diagnostic (visible with --test-reporter=spec or tap).
const RECORDS = 100_000;
const BATCH = 500;

const directory = tempDirectory();
after(() => directory.remove());

describe('bulk append', () => {
  for (const synchronous of ['normal', 'full'] as const satisfies readonly SynchronousMode[]) {
    it(`appends ${RECORDS} records in batches of ${BATCH} (synchronous ${synchronous})`, (t) => {
      const store = openStateStore(directory.file(`bulk-${synchronous}.db`), { synchronous });
      try {
        const batches = Array.from({ length: RECORDS / BATCH }, (_, i) => outboundItems(i * BATCH + 1, BATCH));
        const started = process.hrtime.bigint();
        for (const batch of batches) {
          store.transaction(() => {
            store.appendOutbound(batch);
            store.setCheckpoint('ldap', batch.at(-1)?.csn ?? '');
          });
        }
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;

        assert.equal(store.lastOutboundSeq(), BigInt(RECORDS));
        assert.equal(store.outboundDepth(), RECORDS);
        assert.equal(store.readOutbound(BigInt(RECORDS - 1), 10)[0]?.entryId, `urn:uuid:entry-${RECORDS}`);
        t.diagnostic(
          `synchronous=${synchronous}: ${RECORDS} records in ${seconds.toFixed(2)} s = ` +
            `${Math.round(RECORDS / seconds)} records/s (${Math.round(RECORDS / BATCH / seconds)} commits/s)`,
        );
      } finally {
        store.close();
      }
    });
  }
});
