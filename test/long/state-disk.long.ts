import { describe, it } from 'node:test';
import { seedFromEnv } from '../support/seeded-random.js';
import { diskFullTrial, diskReadOnlyTrial } from '../reliability/disk-checks.js';

/** The long run of test/reliability/state-disk.test.ts: a bigger disk filled by more changes. */
describe('state disk full or read-only (long)', () => {
  it('a full disk: a clear error and a stop, an intact database, and a restart resumes', async (t) => {
    await diskFullTrial(t, { seed: seedFromEnv(), changes: 8000, diskSize: '3m' });
  });

  it('a read-only disk: a fatal error naming the file, exit 2, and a restart resumes once writable', async (t) => {
    await diskReadOnlyTrial(t, { seed: seedFromEnv(), changes: 3000 });
  });
});
