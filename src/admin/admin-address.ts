import { chmodSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';

/** What the daemon tells the CLI about its admin endpoint. */
export interface AdminAddress {
  /** Base URL, e.g. http://127.0.0.1:40123 */
  readonly url: string;
  readonly pid: number;
}

/** The file beside the state database (like its -wal and -shm files) that holds the bound address. */
export function adminAddressFile(statePath: string): string {
  return `${statePath}-admin.json`;
}

/** Written owner-only and renamed into place, so a reader never sees half a file. */
export function writeAdminAddress(file: string, address: AdminAddress): void {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(address)}\n`, { mode: 0o600 });
  // The mode given to writeFileSync is only used when the file is created, and the umask applies.
  chmodSync(temporary, 0o600);
  renameSync(temporary, file);
}

/** The address a daemon wrote, or undefined when there is none (or it is not ours to read). */
export function readAdminAddress(file: string): AdminAddress | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed = JSON.parse(text) as Partial<AdminAddress>;
    if (typeof parsed.url !== 'string' || typeof parsed.pid !== 'number') return undefined;
    return { url: parsed.url, pid: parsed.pid };
  } catch {
    return undefined;
  }
}

/** Removes the file if it still names this process (a newer daemon may have replaced it). */
export function removeAdminAddress(file: string, pid: number = process.pid): void {
  if (readAdminAddress(file)?.pid === pid) rmSync(file, { force: true });
}
