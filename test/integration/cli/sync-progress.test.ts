import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { startCouchDb, type CouchDb } from '../../harness/couchdb.js';
import { startProsody, type ProsodyServer, type XmppAccount } from '../../harness/prosody.js';
import { waitUntil } from '../../harness/service-process.js';
import { pubsync, repoRoot } from '../../support/cli.js';
import { startDaemon, type DaemonProcess } from '../../support/daemon-process.js';
import { writeCouchPairConfig } from '../../support/couch-pair-config.js';

const run = promisify(execFile);
const DOCS = 600;

/**
 * The progress of a long initial catch-up, as a user sees it: under a real pseudo-terminal
 * (util-linux `script`) a bar redrawn in place; through a pipe no control sequences at all.
 */
describe('pubsync sync --once: progress of a long catch-up', { timeout: 240_000 }, () => {
  let prosody: ProsodyServer;
  let couch: CouchDb;
  let dir: string;
  let daemonA: DaemonProcess;
  let a: XmppAccount;
  let b: XmppAccount;
  let dbB: string;
  let configB: string;

  function writeConfig(name: string, me: XmppAccount, peer: XmppAccount, replica: number, database: string, level: string): Promise<string> {
    // Small pages: the catch-up takes many round trips, each one a progress update.
    return writeCouchPairConfig(dir, prosody, couch.url, { name, me, peer, replica, database, level, xmppExtra: ['  catchUpPageEntries: 10'] });
  }

  before(async () => {
    [prosody, couch] = await Promise.all([startProsody({ admins: ['a@localhost', 'b@localhost'] }), startCouchDb()]);
    [a, b] = await Promise.all([prosody.createAccount('a'), prosody.createAccount('b')]);
    const [dbA, nameB] = await Promise.all([couch.createDatabase('site-a'), couch.createDatabase('site-b')]);
    dbB = nameB;
    dir = await mkdtemp(join(tmpdir(), 'pubsync-progress-'));
    const configA = await writeConfig('a', a, b, 1, dbA, 'debug');
    configB = await writeConfig('b', b, a, 2, dbB, 'warn');
    const docs = Array.from({ length: DOCS }, (_, i) => ({ _id: `doc-${String(i).padStart(4, '0')}`, type: 'note', text: `note ${i}` }));
    const body = join(dir, 'docs.json');
    await writeFile(body, JSON.stringify({ docs }));
    await run('curl', ['-sS', '-X', 'POST', '-H', 'Content-Type: application/json', '--data-binary', `@${body}`, `${couch.url}/${dbA}/_bulk_docs`]);
    daemonA = startDaemon(configA);
    await daemonA.logged('ready', 60_000);
    const published = (): number => daemonA.lines().reduce((n, l) => n + (l.msg === 'published' ? Number(l['entries']) : 0), 0);
    await waitUntil(`A published ${DOCS} entries`, async () => (published() >= DOCS ? true : undefined), { timeoutMs: 60_000 });
  });

  after(async () => {
    if (daemonA) await daemonA.terminate();
    await Promise.all([prosody?.stop(), couch?.stop()]);
    await rm(dir, { recursive: true, force: true });
  });

  it('on a terminal: a bar redrawn in place with count, rate and time left, then the final line', async () => {
    // `script` gives the CLI a real pseudo-terminal; its output is what the terminal received.
    const command = `node bin/pubsync.js sync --once --config ${configB} --source-quiet 1000`;
    const { stdout } = await run('script', ['-qefc', command, '/dev/null'], { cwd: repoRoot, maxBuffer: 16 * 1024 * 1024 });
    const screen = stdout.replace(/\r\n/g, '\n');
    // Every redraw starts with "\r, erase the line": what follows each is one frame of the bar.
    const frames = screen.split('\u001b[2K').map((frame) => frame.replace(/\r$/, ''));
    const bars = frames.filter((frame) => /^catch-up docs-a from a@localhost \[[#-]+\] \d+\/\d+ \d+%/.test(frame));
    assert.ok(bars.length > 1, `the bar is redrawn in place: ${bars.length} frames`);
    assert.ok(
      bars.some((frame) => new RegExp(`^catch-up docs-a from a@localhost \\[[#-]+\\] \\d+/${DOCS} \\d+% \\d+(\\.\\d)?/s ETA \\d+s$`).test(frame)),
      'with its rate and time left',
    );
    assert.ok(frames.some((frame) => new RegExp(`^catch-up docs-a from a@localhost: ${DOCS} log records in \\d+s, \\d+/s\n`).test(frame)), 'the final line of the task');
    assert.match(screen, new RegExp(`^sync done in [\\d.]+s: captured 0 entries, published 0 entries, applied ${DOCS},`, 'm'));
    const count = await run('curl', ['-sS', `${couch.url}/${dbB}`]);
    assert.equal((JSON.parse(count.stdout) as { doc_count: number }).doc_count, DOCS);
  });

  it('through a pipe: plain lines only, and the final line of the catch-up', async () => {
    // A second replica of B's account with its own state and database: the same catch-up again.
    const fresh = await couch.createDatabase('site-b2');
    const configB2 = await writeConfig('b2', b, a, 3, fresh, 'warn');
    const synced = await pubsync('sync', '--once', '--config', configB2, '--source-quiet', '1000');
    assert.equal(synced.code, 0, synced.stderr);
    assert.ok(!synced.stdout.includes('\u001b'), synced.stdout);
    const lines = synced.stdout.split('\n').filter((line) => line.startsWith('catch-up'));
    assert.match(lines.at(-1) ?? '', new RegExp(`^catch-up docs-a from a@localhost: ${DOCS} log records in \\d+s, \\d+/s$`));
    // Lines written while it ran (one every 2 s at most, so a fast run has none): count, rate, time left.
    for (const line of lines.slice(0, -1)) assert.match(line, new RegExp(`^catch-up docs-a from a@localhost: \\d+/${DOCS} log records \\(\\d+%\\), \\d+/s(, about \\d+s left)?$`));
    assert.match(synced.stdout, new RegExp(`^sync done in [\\d.]+s: captured 0 entries, published 0 entries, applied ${DOCS},`, 'm'));
  });
});
