import { adminAddressFile, readAdminAddress, type AdminAddress } from './admin-address.js';

/** How long the CLI waits for a daemon's admin endpoint before reading the state database instead. */
const CONNECT_TIMEOUT_MS = 3000;

export type DaemonLookup =
  | { readonly kind: 'running'; readonly address: AdminAddress }
  /** No address file, or its process is gone: the daemon is stopped (or runs with admin.enabled: false). */
  | { readonly kind: 'stopped' }
  /** The address file names a live process whose endpoint did not answer. */
  | { readonly kind: 'unreachable'; readonly address: AdminAddress; readonly reason: string };

/** Finds the daemon of a state database through the address file it wrote, and checks it answers. */
export async function findDaemon(statePath: string): Promise<DaemonLookup> {
  const address = readAdminAddress(adminAddressFile(statePath));
  if (!address || !processExists(address.pid)) return { kind: 'stopped' };
  try {
    const response = await fetch(`${address.url}/healthz`, { signal: AbortSignal.timeout(CONNECT_TIMEOUT_MS) });
    if (response.ok) return { kind: 'running', address };
    return { kind: 'unreachable', address, reason: `/healthz answered ${response.status}` };
  } catch (error) {
    return { kind: 'unreachable', address, reason: describe(error) };
  }
}

export async function getJson<T>(address: AdminAddress, path: string, timeoutMs = 30_000): Promise<T> {
  const response = await fetch(`${address.url}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
  return answer<T>(response, path);
}

export async function postJson<T>(address: AdminAddress, path: string, body: unknown, timeoutMs = 300_000): Promise<T> {
  const response = await fetch(`${address.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  return answer<T>(response, path);
}

async function answer<T>(response: Response, path: string): Promise<T> {
  const text = await response.text();
  if (!response.ok) throw new Error(`the daemon's admin endpoint answered ${path} with ${response.status}: ${text.trim()}`);
  return JSON.parse(text) as T;
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof Error ? `${error.message}: ${cause.message}` : error.message;
}
