import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import Nano, { type DatabaseChangesParams, type DocumentScope, type ServerScope } from 'nano';
import { startCouchDb, type CouchDb } from './couchdb.js';

// Runs against the embedded server, or against a real CouchDB when COUCHDB_URL is set.

const run = promisify(execFile);

interface Note {
  type: string;
  title?: string;
}

/** nano always asks for gzip; identity is harmless on real CouchDB and keeps streams unbuffered. */
function nanoFor(url: string): ServerScope {
  return Nano({ url, headers: { 'Accept-Encoding': 'identity' } });
}

/** curl, the foreign client: status code and parsed JSON body of one request. */
async function curl(args: string[]): Promise<{ status: number; body: unknown }> {
  const { stdout } = await run('curl', ['--silent', '--show-error', '--max-time', '10', '--write-out', '\n%{http_code}', ...args]);
  const split = stdout.lastIndexOf('\n');
  return { status: Number(stdout.slice(split + 1)), body: JSON.parse(stdout.slice(0, split)) };
}

/** nano 11 declares changesAsStream on nano.db, but implements it on the database scope only. */
function changesAsStream(db: DocumentScope<Note>, params: DatabaseChangesParams): NodeJS.ReadableStream {
  return (db as DocumentScope<Note> & { changesAsStream(params: DatabaseChangesParams): NodeJS.ReadableStream }).changesAsStream(params);
}

function lines(text: string): unknown[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as unknown);
}

describe('CouchDB test harness', () => {
  let couch: CouchDb;
  let nano: ServerScope;

  before(async () => {
    couch = await startCouchDb();
    nano = nanoFor(couch.url);
  });

  after(async () => {
    await couch?.stop();
  });

  async function freshDb(): Promise<DocumentScope<Note>> {
    return nano.use<Note>(await couch.createDatabase());
  }

  it('answers GET / with a CouchDB welcome', async () => {
    const info = await nano.info();
    assert.equal(info.couchdb, 'Welcome');
    assert.equal(typeof info.version, 'string');
  });

  it('stores and returns a document over plain HTTP with curl', async () => {
    const name = await couch.createDatabase();
    const docUrl = `${couch.url}/${name}/note-1`;
    const put = await curl(['-X', 'PUT', '-H', 'Content-Type: application/json', '--data', '{"type":"note","title":"via curl"}', docUrl]);
    assert.equal(put.status, 201);
    assert.deepEqual(put.body, { ok: true, id: 'note-1', rev: (put.body as { rev: string }).rev });
    const get = await curl([docUrl]);
    assert.equal(get.status, 200);
    assert.deepEqual(get.body, { _id: 'note-1', _rev: (put.body as { rev: string }).rev, type: 'note', title: 'via curl' });
  });

  it('stores and returns a document with nano', async () => {
    const db = await freshDb();
    const { id, rev } = await db.insert({ type: 'note', title: 'via nano' }, 'note-2');
    const doc = await db.get(id);
    assert.equal(doc._rev, rev);
    assert.equal(doc.title, 'via nano');
  });

  it('serves feed=normal one change per line, as changesReader.spool() needs', async () => {
    const db = await freshDb();
    await db.bulk({ docs: [{ type: 'a' }, { type: 'b' }, { type: 'c' }] });
    const normal = await db.changes({ since: 0 });
    assert.equal(normal.results.length, 3);

    const spooled: unknown[] = [];
    const endSeq = await new Promise<unknown>((resolve, reject) => {
      db.changesReader
        .spool({ since: 0 })
        .on('batch', (batch: unknown[]) => spooled.push(...batch))
        .on('end', resolve)
        .on('error', reject);
    });
    assert.equal(spooled.length, 3);
    assert.deepEqual(endSeq, normal.last_seq);
  });

  it('ends a longpoll after its timeout when nothing changes, and wakes it on a change', { timeout: 10_000 }, async () => {
    const db = await freshDb();
    const { last_seq: since } = await db.changes({ since: 'now', limit: 1 });
    const started = Date.now();
    const idle = await db.changes({ feed: 'longpoll', since, timeout: 200 });
    assert.deepEqual(idle.results, []);
    assert.deepEqual(idle.last_seq, since);
    assert.ok(Date.now() - started < 5000, 'longpoll honoured its timeout');

    const woken = db.changes({ feed: 'longpoll', since, timeout: 10_000 });
    await db.insert({ type: 'wake-up' }, 'wake-up');
    const { results } = await woken;
    assert.deepEqual(
      results.map((change) => change.id),
      ['wake-up'],
    );
  });

  it('streams a live change with include_docs on feed=continuous and ends with last_seq at the limit', { timeout: 10_000 }, async () => {
    const db = await freshDb();
    const stream = changesAsStream(db, { feed: 'continuous', include_docs: true, since: 'now', heartbeat: 50, limit: 1 });
    let text = '';
    let inserted: Promise<unknown> | undefined;
    await new Promise<void>((resolve, reject) => {
      stream.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        // The first byte (a heartbeat) proves the feed is open, so the insert below is a live change.
        inserted ??= db.insert({ type: 'live', title: 'streamed' }, 'live-1');
      });
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    await inserted;
    const [change, end, ...rest] = lines(text) as [
      { id: string; seq: unknown; doc: Note & { _id: string } },
      { last_seq: unknown },
      ...unknown[],
    ];
    assert.deepEqual(rest, []);
    assert.equal(change.id, 'live-1');
    assert.equal(change.doc.title, 'streamed');
    assert.deepEqual(end.last_seq, change.seq);
  });

  it('filters _changes with _selector without crashing the server', async () => {
    const db = await freshDb();
    await db.bulk({ docs: [{ type: 'wanted' }, { type: 'other' }, { type: 'wanted' }] });
    const filtered = (await nano.request({
      db: db.config.db,
      method: 'POST',
      path: '_changes',
      qs: { filter: '_selector', include_docs: true },
      body: { selector: { type: 'wanted' } },
    })) as { results: { doc: Note }[] };
    assert.deepEqual(
      filtered.results.map((change) => change.doc.type),
      ['wanted', 'wanted'],
    );

    const batches: unknown[][] = [];
    await new Promise<void>((resolve, reject) => {
      db.changesReader
        .get({ since: 0, selector: { type: 'other' }, timeout: 100 })
        .on('batch', (batch: unknown[]) => batches.push(batch))
        .on('end', () => resolve())
        .on('error', reject);
    });
    assert.equal(batches.flat().length, 1);
    assert.equal((await nano.info()).couchdb, 'Welcome');
  });

  it('accepts a multipart/related PUT and survives a malformed one', async () => {
    const db = await freshDb();
    await db.multipart.insert({ type: 'with-attachment' }, [{ name: 'hello.txt', data: Buffer.from('hello, couch'), content_type: 'text/plain' }], 'mp-1');
    const attachment = await db.attachment.get('mp-1', 'hello.txt');
    assert.equal(attachment.toString(), 'hello, couch');

    const malformed = await curl([
      '-X',
      'PUT',
      '-H',
      'Content-Type: multipart/related; boundary=abc',
      '--data-binary',
      // The attachment it announces never comes: the body ends without a closing boundary.
      '--abc\r\ncontent-type: application/json\r\n\r\n{"_attachments":{"x.txt":{"follows":true}}}\r\n--abc\r\n\r\npartial',
      `${couch.url}/${db.config.db}/mp-2`,
    ]);
    assert.ok(malformed.status >= 400, `malformed multipart answered ${malformed.status}`);
    assert.equal((await nano.info()).couchdb, 'Welcome');
  });

  it('runs two instances side by side, and stop() leaves no process behind', { skip: process.env['COUCHDB_URL'] ? 'external CouchDB' : false }, async () => {
    const other = await startCouchDb();
    const { pid } = other;
    assert.ok(pid !== undefined);
    try {
      assert.notEqual(other.url, couch.url);
      assert.notEqual(pid, couch.pid);
      const name = await other.createDatabase();
      assert.equal((await nanoFor(other.url).db.get(name)).db_name, name);
      await assert.rejects(nano.db.get(name), { statusCode: 404 });
    } finally {
      await other.stop();
    }
    assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' });
  });

  it('restarts on the same port with its databases back, empty', { skip: process.env['COUCHDB_URL'] ? 'external CouchDB' : false }, async () => {
    const db = await freshDb();
    await db.insert({ type: 'lost on restart' }, 'gone');
    const before = { url: couch.url, pid: couch.pid };
    await couch.restart();
    assert.equal(couch.url, before.url);
    assert.notEqual(couch.pid, before.pid);
    assert.equal((await db.info()).doc_count, 0);
  });
});
