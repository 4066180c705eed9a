import { describe, it } from 'node:test';
import { seedFromEnv } from '../support/seeded-random.js';
import { killTrials } from './kill-trials.js';

/**
 * Quick version of test/long/kill.long.ts: kill -9 of the publishing or the subscribing `pubsync
 * run` at seeded random moments while changes flow CouchDB A -> Prosody -> CouchDB B; at the end B
 * equals A object by object. PUBSYNC_SEED replays a failure.
 */
describe('kill -9 of a daemon while changes flow (quick)', { timeout: 600_000 }, () => {
  it('loses nothing and leaves no object different', { timeout: 600_000 }, async (t) => {
    await killTrials(t, { baseSeed: seedFromEnv(), trials: 2, changes: 600, kills: 3, convergeMs: 240_000 });
  });
});
