import { randomBytes } from 'node:crypto';

/** Plain HTTP against a CouchDB-protocol server: what a foreign client does, no plugin code. */
export async function post(url: string, body: unknown): Promise<unknown> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await response.text();
  if (!response.ok) throw new Error(`POST ${url}: ${response.status} ${text.slice(0, 500)}`);
  return JSON.parse(text);
}

export async function get(url: string): Promise<unknown> {
  const response = await fetch(url);
  const text = await response.text();
  if (!response.ok) throw new Error(`GET ${url}: ${response.status} ${text.slice(0, 500)}`);
  return JSON.parse(text);
}

export async function docCount(server: string, database: string): Promise<number> {
  return ((await get(`${server}/${database}`)) as { doc_count: number }).doc_count;
}

/** A ~1 KB (or `bytes`) document of type note. */
export function noteDoc(id: string, n: number, bytes = 1024): Record<string, unknown> {
  return { _id: id, type: 'note', title: `note ${n}`, count: n, body: randomBytes(Math.max(1, Math.floor((bytes - 120) / 2))).toString('hex') };
}

/** Writes `count` documents with _bulk_docs in batches of `batch`; returns the ids. */
export async function seed(server: string, database: string, count: number, options: { prefix?: string; bytes?: number; batch?: number } = {}): Promise<void> {
  const batch = options.batch ?? 1000;
  for (let start = 0; start < count; start += batch) {
    const docs = Array.from({ length: Math.min(batch, count - start) }, (_, i) =>
      noteDoc(`${options.prefix ?? 'doc'}-${String(start + i).padStart(7, '0')}`, start + i, options.bytes),
    );
    await post(`${server}/${database}/_bulk_docs`, { docs });
  }
}

/** Polls the document count until it reaches `count`; returns performance.now() when it did. */
export async function waitForCount(server: string, database: string, count: number, timeoutMs: number, alive: () => void = () => {}, everyMs = 50): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    alive();
    const now = await docCount(server, database);
    if (now >= count) return performance.now();
    if (Date.now() > deadline) throw new Error(`${database}: ${now} of ${count} documents after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
