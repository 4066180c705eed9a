import { describe, it } from 'node:test';
import { seedFromEnv } from '../support/seeded-random.js';
import { fuzzInbound } from '../reliability/fuzz-checks.js';
import { longSize } from './long-size.js';

/** The long run of test/reliability/fuzz-inbound.test.ts: 11,000 seeded bad items. */
describe('fuzzed inbound items through the real subscriber (long)', () => {
  it('dead-letters each bad item or refuses it with a reason, and the flow goes on', async (t) => {
    await fuzzInbound(t, { seed: seedFromEnv(), cases: longSize('PUBSYNC_FUZZ_CASES', 11_000), markerEvery: 100 });
  });
});
