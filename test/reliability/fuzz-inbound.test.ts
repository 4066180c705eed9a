import { describe, it } from 'node:test';
import { seedFromEnv } from '../support/seeded-random.js';
import { fuzzInbound } from './fuzz-checks.js';

/**
 * Quick version of test/long/fuzz-inbound.long.ts: a few hundred seeded bad items published to a
 * real Prosody node, through the real subscriber of a daemon. PUBSYNC_SEED replays a failure.
 */
describe('fuzzed inbound items through the real subscriber (quick)', { timeout: 300_000 }, () => {
  it('dead-letters each bad item or refuses it with a reason, and the flow goes on', { timeout: 300_000 }, async (t) => {
    await fuzzInbound(t, { seed: seedFromEnv(), cases: 330, markerEvery: 30 });
  });
});
