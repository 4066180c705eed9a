import { describe, it } from 'node:test';
import { seedFromEnv } from '../support/seeded-random.js';
import { killTrials } from '../reliability/kill-trials.js';
import { longSize } from './long-size.js';

/** The long run of test/reliability/kill.test.ts: 20 trials of 20,000 changes, 8 kills each. */
describe('kill -9 of a daemon while 20,000 changes flow (long)', () => {
  it('loses nothing and leaves no object different, over every trial', async (t) => {
    await killTrials(t, {
      baseSeed: seedFromEnv(),
      trials: longSize('PUBSYNC_TRIALS', 20),
      changes: longSize('PUBSYNC_CHANGES', 20_000),
      kills: longSize('PUBSYNC_KILLS', 8),
      convergeMs: 600_000,
    });
  });
});
