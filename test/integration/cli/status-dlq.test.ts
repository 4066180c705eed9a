import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openStateStore } from '../../../src/state/index.js';
import { pubsync } from '../../support/cli.js';

const BINARY = Uint8Array.from([0, 1, 2, 250, 251, 252, 253, 254, 255]);

/** `pubsync status` and `pubsync dlq` read a real state database written through the StateStore. */
describe('pubsync status and dlq', { timeout: 180_000 }, () => {
  let dir: string;
  let config: string;
  let dbPath: string;
  let textId: number;
  let binaryId: number;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pubsync-status-'));
    dbPath = join(dir, 'state.db');
    config = join(dir, 'pubsync.yaml');
    await writeFile(config, ['replica: { id: 1 }', `state: { path: ${dbPath} }`, ''].join('\n'));
    const store = openStateStore(dbPath);
    try {
      store.transaction(() => {
        store.appendOutbound([
          { entryId: 'urn:uuid:a', csn: '1', nodes: ['people'], payload: '<entry/>' },
          { entryId: 'urn:uuid:b', csn: '2', nodes: ['people'], payload: '<entry/>' },
          { entryId: 'urn:uuid:c', csn: '3', nodes: ['people'], payload: '<entry/>' },
        ]);
        store.setCheckpoint('ldap', '20261122001500.000001Z#000000#000#000000');
        store.setCheckpoint('couch', '42-g1AAAA');
      });
      store.setHighWater('people-in', 'replica-2', 17n);
      store.setHighWater('people-in', 'replica-3', 5n);
      textId = store.addDeadLetter({
        where: 'sink:couch',
        entryId: 'urn:uuid:a',
        payload: '<entry xmlns="http://www.w3.org/2005/Atom"><title>Ada</title></entry>',
        code: 'PUBSYNC_ERR_SINK_REJECTED',
        message: 'document update conflict',
        details: { status: 409 },
      });
      binaryId = store.addDeadLetter({ where: 'source:dbus', payload: BINARY, code: 'PUBSYNC_ERR_RECORD_INVALID', message: 'not UTF-8' });
      store.addConflict({ kind: 'conflict', where: 'sink:couch', globalId: 'urn:uuid:a', details: {} });
      store.addConflict({ kind: 'conflict', where: 'sink:couch', globalId: 'urn:uuid:b', details: {} });
      store.addConflict({ kind: 'collision', where: 'sink:couch', globalId: 'urn:uuid:c', details: {} });
      store.putApplied('couch', { globalId: 'urn:uuid:d', localKey: 'd', csns: {}, csn: '4', deleted: true });
    } finally {
      store.close();
    }
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('status --json reports the numbers the database holds', async () => {
    const { code, stdout, stderr } = await pubsync('status', '--json', '--config', config);
    assert.equal(code, 0, stderr);
    const report = JSON.parse(stdout) as Record<string, unknown>;
    assert.deepEqual(report.outbound, { depth: 3, lastSeq: '3', oldestSeq: '1', compactedThrough: '0' });
    assert.deepEqual(
      (report.checkpoints as { source: string; checkpoint: string }[]).map(({ source, checkpoint }) => [source, checkpoint]),
      [
        ['couch', '42-g1AAAA'],
        ['ldap', '20261122001500.000001Z#000000#000#000000'],
      ],
    );
    assert.deepEqual(
      (report.highWater as { subscription: string; origin: string; seq: string }[]).map(({ subscription, origin, seq }) => [subscription, origin, seq]),
      [
        ['people-in', 'replica-2', '17'],
        ['people-in', 'replica-3', '5'],
      ],
    );
    assert.equal(report.deadLetters, 2);
    assert.equal(report.conflicts, 2);
    assert.equal(report.keyCollisions, 1);
    assert.equal(report.tombstonesPending, 1);
    assert.equal(report.from, 'state-database');
    assert.match(String(report.note), /the daemon is not running/);
    assert.equal(report.live, undefined);
  });

  it('status prints a readable table', async () => {
    const { code, stdout, stderr } = await pubsync('status', '--config', config);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /outbound log\s+3 records, last seq 3/);
    assert.match(stdout, /dead letters\s+2\n/);
    assert.match(stdout, /conflicts\s+2\n/);
    assert.match(stdout, /key collisions\s+1\n/);
    assert.match(stdout, /tombstones pending\s+1\n/);
    assert.match(stdout, /^ {2}couch\s+42-g1AAAA\s+\d{4}-/m);
    assert.match(stdout, /^ {2}people-in\s+replica-2\s+17\s/m);
    assert.match(stdout, /^from\s+the state database \(the daemon is not running/m);
  });

  it('status without a state database says so (exit 1) and creates none', async () => {
    const other = join(dir, 'missing.yaml');
    await writeFile(other, ['replica: { id: 1 }', `state: { path: ${join(dir, 'nothing.db')} }`, ''].join('\n'));
    const { code, stderr } = await pubsync('status', '--config', other);
    assert.equal(code, 1);
    assert.match(stderr, /no state database at .*nothing\.db/);
    assert.equal((await pubsync('status', '--config', other)).code, 1, 'still missing: the first call created nothing');
  });

  it('status with a bad config exits 2', async () => {
    const { code } = await pubsync('status', '--config', join(dir, 'does-not-exist.yaml'));
    assert.equal(code, 2);
  });

  it('dlq list shows id, time, where, code, message and entry id', async () => {
    const { code, stdout, stderr } = await pubsync('dlq', 'list', '--config', config);
    assert.equal(code, 0, stderr);
    const lines = stdout.trimEnd().split('\n');
    assert.equal(lines.length, 3, stdout);
    assert.match(lines[0] ?? '', /ID\s+TIME\s+WHERE\s+CODE\s+MESSAGE\s+ENTRY/);
    assert.match(lines[1] ?? '', new RegExp(`^ {2}${textId}\\s+\\d{4}-\\d\\d-\\d\\dT\\S+Z\\s+sink:couch\\s+PUBSYNC_ERR_SINK_REJECTED\\s+document update conflict\\s+urn:uuid:a$`));
    assert.match(lines[2] ?? '', new RegExp(`^ {2}${binaryId}\\s+\\S+\\s+source:dbus\\s+PUBSYNC_ERR_RECORD_INVALID\\s+not UTF-8\\s+-$`));
  });

  it('dlq show prints a text payload as is and a binary one as base64', async () => {
    const text = await pubsync('dlq', 'show', String(textId), '--config', config);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /where: +sink:couch/);
    assert.match(text.stdout, /details: +\{"status":409\}/);
    assert.match(text.stdout, /payload \(text\):\n<entry xmlns="http:\/\/www\.w3\.org\/2005\/Atom"><title>Ada<\/title><\/entry>\n/);
    const binary = await pubsync('dlq', 'show', String(binaryId), '--config', config);
    assert.equal(binary.code, 0, binary.stderr);
    assert.match(binary.stdout, /payload \(binary, 9 bytes, base64\):\n(\S+)\n/);
    const encoded = /payload \(binary, 9 bytes, base64\):\n(\S+)\n/.exec(binary.stdout)?.[1] ?? '';
    assert.deepEqual(Uint8Array.from(Buffer.from(encoded, 'base64')), BINARY);
  });

  it('status with an address file left by a crashed daemon reads the database', async () => {
    // The pid of a process that has exited: the file is stale, the endpoint is not tried.
    const gone = spawnSync('true').pid;
    await writeFile(`${dbPath}-admin.json`, JSON.stringify({ url: 'http://127.0.0.1:1', pid: gone }));
    try {
      const { code, stdout, stderr } = await pubsync('status', '--json', '--config', config);
      assert.equal(code, 0, stderr);
      assert.equal((JSON.parse(stdout) as { from: string }).from, 'state-database');
    } finally {
      await rm(`${dbPath}-admin.json`, { force: true });
    }
  });

  it('dlq retry needs an id or --all, not both', async () => {
    const neither = await pubsync('dlq', 'retry', '--config', config);
    assert.equal(neither.code, 1);
    assert.match(neither.stderr, /either a dead letter id or --all/);
    assert.equal((await pubsync('dlq', 'retry', String(textId), '--all', '--config', config)).code, 1);
  });

  it('dlq retry of a source-stage letter says why it is not retried (exit 1) and records nothing', async () => {
    const { code, stdout, stderr } = await pubsync('dlq', 'retry', String(binaryId), '--config', config);
    assert.equal(code, 1, stdout);
    assert.match(stderr, new RegExp(`dead letter ${binaryId} is not retried: it holds what a source read, not an entry`));
    const store = openStateStore(dbPath);
    try {
      assert.deepEqual(store.kvEntries('pubsync:dlq-retry', '', undefined, 10), []);
    } finally {
      store.close();
    }
  });

  it('dlq show and drop of an unknown id exit 1', async () => {
    assert.equal((await pubsync('dlq', 'show', '9999', '--config', config)).code, 1);
    assert.equal((await pubsync('dlq', 'drop', '9999', '--config', config)).code, 1);
  });

  it('dlq drop removes the letter', async () => {
    const dropped = await pubsync('dlq', 'drop', String(textId), '--config', config);
    assert.equal(dropped.code, 0, dropped.stderr);
    assert.match(dropped.stdout, new RegExp(`dead letter ${textId} dropped`));
    const store = openStateStore(dbPath);
    try {
      assert.equal(store.getDeadLetter(textId), undefined);
      assert.notEqual(store.getDeadLetter(binaryId), undefined);
      assert.equal(store.countDeadLetters(), 1);
    } finally {
      store.close();
    }
    const listed = await pubsync('dlq', 'list', '--config', config);
    assert.doesNotMatch(listed.stdout, /sink:couch/);
  });
});
