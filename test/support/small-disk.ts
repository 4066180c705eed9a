import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A small tmpfs mounted on a fresh directory, to fill the disk under a running daemon or make it
 * read-only. Needs root (mount(8)); `available()` says whether this machine allows it.
 */
export interface SmallDisk {
  readonly dir: string;
  /** Changes the size (e.g. '64m') while mounted: space comes back, or goes. */
  resize(size: string): void;
  readOnly(): void;
  readWrite(): void;
  unmount(): void;
}

export function mountSmallDisk(size: string): SmallDisk {
  const dir = mkdtempSync(join(tmpdir(), 'pubsync-small-disk-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir]);
  let mounted = true;
  const remount = (options: string): void => {
    execFileSync('mount', ['-o', `remount,${options}`, dir]);
  };
  return {
    dir,
    resize: (to) => remount(`size=${to}`),
    readOnly: () => remount('ro'),
    readWrite: () => remount('rw'),
    unmount() {
      if (!mounted) return;
      mounted = false;
      execFileSync('umount', ['-l', dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Whether a tmpfs can be mounted here (root, and mount allowed in this container). */
export function smallDiskAvailable(): boolean {
  try {
    mountSmallDisk('64k').unmount();
    return true;
  } catch {
    return false;
  }
}
