import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

/**
 * The real clients a user would use on each application: curl on CouchDB (LDAP and D-Bus go
 * through the OpenLDAP tools and dbus-send/gdbus, via the harness helpers). Nothing here talks
 * to a server through pubsync's own code.
 */

const run = promisify(execFile);

export type CouchDoc = Record<string, unknown> & { _id: string; _rev?: string };

/** `curl` with a JSON body; resolves with the HTTP status and the parsed JSON answer. */
export async function curlJson(method: string, url: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const args = ['-sS', '-X', method, '-H', 'Content-Type: application/json', '-w', '\n%{http_code}'];
  if (body !== undefined) args.push('--data-binary', JSON.stringify(body));
  const { stdout } = await run('curl', [...args, url]);
  const cut = stdout.lastIndexOf('\n');
  const text = stdout.slice(0, cut);
  return { status: Number(stdout.slice(cut + 1)), json: text ? (JSON.parse(text) as unknown) : undefined };
}

/** A URL fit to print: without the user and password a CouchDB URL may carry. */
export function withoutCredentials(url: string): string {
  return url.replace(/\/\/[^/@]*@/, '//');
}

export function docUrl(couchUrl: string, database: string, id: string): string {
  return `${couchUrl}/${encodeURIComponent(database)}/${encodeURIComponent(id)}`;
}

/** The document, or undefined when there is none (404, also for a deleted one). */
export async function getDoc(couchUrl: string, database: string, id: string): Promise<CouchDoc | undefined> {
  const { status, json } = await curlJson('GET', docUrl(couchUrl, database, id));
  if (status === 404) return undefined;
  if (status !== 200) throw new Error(`GET ${database}/${id}: HTTP ${status} ${JSON.stringify(json)}`);
  return json as CouchDoc;
}

/** Every document of the database (design documents left out). */
export async function allDocs(couchUrl: string, database: string): Promise<CouchDoc[]> {
  const { status, json } = await curlJson('GET', `${couchUrl}/${encodeURIComponent(database)}/_all_docs?include_docs=true`);
  if (status !== 200) throw new Error(`GET ${database}/_all_docs: HTTP ${status} ${JSON.stringify(json)}`);
  const rows = (json as { rows: { doc?: CouchDoc }[] }).rows;
  return rows.flatMap((row) => (row.doc && !row.doc._id.startsWith('_design/') ? [row.doc] : []));
}

/** PUT of the whole document (with its _rev for an update); resolves with the new revision. */
export async function putDoc(couchUrl: string, database: string, doc: CouchDoc): Promise<string> {
  const { status, json } = await curlJson('PUT', docUrl(couchUrl, database, doc._id), doc);
  if (status !== 201 && status !== 202) throw new Error(`PUT ${database}/${doc._id}: HTTP ${status} ${JSON.stringify(json)}`);
  return (json as { rev: string }).rev;
}

/** Reads the document, changes some properties, PUTs it back: an edit as a CMS would make it. */
export async function editDoc(couchUrl: string, database: string, id: string, changes: Record<string, unknown>): Promise<string> {
  const doc = await getDoc(couchUrl, database, id);
  if (!doc) throw new Error(`no document ${database}/${id} to edit`);
  return putDoc(couchUrl, database, { ...doc, ...changes });
}

export async function deleteDoc(couchUrl: string, database: string, id: string): Promise<void> {
  const doc = await getDoc(couchUrl, database, id);
  if (!doc?._rev) throw new Error(`no document ${database}/${id} to delete`);
  const { status, json } = await curlJson('DELETE', `${docUrl(couchUrl, database, id)}?rev=${encodeURIComponent(doc._rev)}`);
  if (status !== 200 && status !== 202) throw new Error(`DELETE ${database}/${id}: HTTP ${status} ${JSON.stringify(json)}`);
}

/**
 * Polls a condition until it yields a value or the deadline passes: the arrival is another
 * process's work (two daemons and an XMPP server away), so there is no signal to wait on here.
 */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
