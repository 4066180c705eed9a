import { describe, it } from 'node:test';
import { seedFromEnv } from '../support/seeded-random.js';
import { outageTrial } from '../reliability/outage-checks.js';

/** The long run of test/reliability/outage.test.ts: the sink's CouchDB away for 30 s under 10,000 changes. */
describe('outages while changes flow (long)', () => {
  it('the sink server away 30 s and Prosody restarted: retries, bounded memory, the backlog drains, nothing lost', async (t) => {
    await outageTrial(t, { seed: seedFromEnv(), changesBefore: 1000, changesDuring: 10_000, outageMs: 30_000, maxRssGrowthMb: 150 });
  });
});
