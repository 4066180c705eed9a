import { describe, it } from 'node:test';
import { seedFromEnv } from '../support/seeded-random.js';
import { outageTrial } from './outage-checks.js';

/** Quick version of test/long/outage.long.ts: a few seconds of sink outage, a Prosody restart. */
describe('outages while changes flow (quick)', { timeout: 600_000 }, () => {
  it('the sink server away and Prosody restarted: retries, bounded memory, the backlog drains, nothing lost', { timeout: 600_000 }, async (t) => {
    await outageTrial(t, { seed: seedFromEnv(), changesBefore: 300, changesDuring: 1500, outageMs: 5000, maxRssGrowthMb: 100 });
  });
});
