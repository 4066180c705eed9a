import Database from 'better-sqlite3';
import { startCouchPair } from './couch-pair.js';
import { converge, CouchWorkload, type Difference } from './couch-workload.js';
import { seededRandom } from '../support/seeded-random.js';
import { mountSmallDisk } from '../support/small-disk.js';
import { startDaemon } from '../support/daemon-process.js';

/**
 * Daemon A's state database on a small tmpfs: changes flow until the disk is full (or the disk is
 * read-only when A starts), then space comes back and A is started again; B must end equal to A
 * and the database must pass PRAGMA integrity_check.
 */
export interface DiskTrialOptions {
  readonly seed: number;
  readonly fault: 'full' | 'read-only';
  /** Changes written: enough to fill the disk (full), or before the disk turns read-only. */
  readonly changes: number;
  readonly diskSize: string;
}

export interface DiskTrialResult {
  readonly errorLine: Record<string, unknown> | undefined;
  /** What A did after the fault: still running, or exited with this code. */
  readonly afterFault: 'running' | number | string;
  readonly integrity: string;
  readonly differences: Difference[];
  readonly changes: number;
  /** What the faulted daemon wrote on stderr. */
  readonly stderr: string;
}

export async function runDiskTrial(options: DiskTrialOptions): Promise<DiskTrialResult> {
  const disk = mountSmallDisk(options.diskSize);
  const pair = await startCouchPair({ stateDirA: disk.dir });
  try {
    await pair.startB();
    const a = await pair.startA();
    const workload = new CouchWorkload(pair.dbA, seededRandom(options.seed), { maxDocs: 400, batch: 50 });
    let faulted = a;
    if (options.fault === 'read-only') {
      await workload.write(options.changes);
      await a.terminate();
      // A tmpfs with open files cannot be remounted read-only (EBUSY), so the disk turns
      // read-only between two runs: the next start must refuse it clearly and change nothing.
      disk.readOnly();
      faulted = startDaemon(pair.configA);
      await workload.write(50);
    } else {
      await workload.write(options.changes);
    }
    const exited = await Promise.race([faulted.exited, delay(120_000).then((): 'running' => 'running')]);
    const errorLine = faulted.lines().find((l) => Number(l['level']) >= 50);
    // Space comes back; a restart resumes.
    if (options.fault === 'read-only') disk.readWrite();
    else disk.resize('256m');
    if (exited === 'running') await faulted.kill9();
    await pair.startA();
    await workload.write(50);
    const differences = await converge(pair.dbA, pair.dbB, 120_000);
    await pair.a?.terminate();
    const db = new Database(pair.statePathA, { readonly: true });
    const integrity = String(db.pragma('integrity_check', { simple: true }));
    db.close();
    return { errorLine, afterFault: exited, integrity, differences, changes: workload.changes, stderr: faulted.stderr() };
  } finally {
    await pair.close();
    disk.unmount();
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
