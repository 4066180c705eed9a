import { describe, it } from 'node:test';
import { seedFromEnv } from '../support/seeded-random.js';
import { diskFullTrial, diskReadOnlyTrial } from './disk-checks.js';

/**
 * The state database of a running `pubsync run` on a real small tmpfs (mounted here; needs root):
 * the disk fills up, or is read-only at start. Quick version of test/long/state-disk.long.ts.
 */
describe('state disk full or read-only (quick)', { timeout: 600_000 }, () => {
  it('a full disk: a clear error and a stop, an intact database, and a restart resumes', { timeout: 300_000 }, async (t) => {
    await diskFullTrial(t, { seed: seedFromEnv(), changes: 1500, diskSize: '600k' });
  });

  it('a read-only disk: a fatal error naming the file, exit 2, and a restart resumes once writable', { timeout: 300_000 }, async (t) => {
    await diskReadOnlyTrial(t, { seed: seedFromEnv(), changes: 300 });
  });
});
