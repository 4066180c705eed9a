import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startDaemon } from '../support/daemon-process.js';

/**
 * `pubsync run` with broken configs: every mistake named with its key path, exit 2, and nothing
 * started: no state file, no connection to the XMPP server or to the application's server.
 */
describe('bad config stops everything before it starts', { timeout: 60_000 }, () => {
  let dir: string;
  let xmpp: Server;
  let couch: HttpServer;
  let xmppConnections = 0;
  let couchRequests = 0;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pubsync-bad-config-'));
    xmpp = createServer((socket) => {
      xmppConnections++;
      socket.destroy();
    });
    couch = createHttpServer((_req, res) => {
      couchRequests++;
      res.end('{}');
    });
    await new Promise<void>((resolve) => xmpp.listen(0, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => couch.listen(0, '127.0.0.1', resolve));
  });
  after(async () => {
    await new Promise<void>((resolve) => xmpp.close(() => resolve()));
    await new Promise<void>((resolve) => couch.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  });

  const portOf = (server: Server | HttpServer): number => {
    const address = server.address();
    return typeof address === 'object' && address ? address.port : 0;
  };

  async function expectRefused(name: string, lines: string[], paths: readonly string[]): Promise<void> {
    const file = join(dir, `${name}.yaml`);
    await writeFile(file, lines.join('\n'));
    const daemon = startDaemon(file);
    assert.equal(await daemon.exited, 2, daemon.stderr());
    const problems = (daemon.lines().find((l) => l['level'] === 60)?.['err'] as { details?: { problems?: { path: string }[] } } | undefined)?.details?.problems ?? [];
    assert.deepEqual(problems.map((p) => p.path).sort(), [...paths].sort(), 'each mistake once, by key path');
    for (const path of paths) assert.ok(daemon.stderr().includes(`: ${path}: `), `the message names ${path}`);
    assert.doesNotMatch(daemon.stderr(), /Secret-Bad-Config-1/);
    assert.doesNotMatch(daemon.stderr(), /"msg":"ready"/);
    assert.deepEqual((await readdir(dir)).filter((f) => f.startsWith('never')), [], 'no state file');
    assert.equal(existsSync(join(dir, 'never.db-admin.json')), false, 'no admin endpoint');
    assert.equal(xmppConnections, 0, 'no connection to the XMPP server');
    assert.equal(couchRequests, 0, 'no request to the application');
  }

  const xmppLines = (extra: string[] = []): string[] => [
    'xmpp:',
    `  service: xmpp://127.0.0.1:${portOf(xmpp)}`,
    '  domain: localhost',
    '  pubsubService: pubsub.localhost',
    '  password: "Secret-Bad-Config-1"',
    ...extra,
  ];

  it('names every mistake of the envelope', async () => {
    await expectRefused(
      'envelope',
      [
        'replica: { id: 5000 }',
        `state: { path: ${join(dir, 'never.db')}, retentionDays: -1 }`,
        'colour: blue',
        ...xmppLines(['  jid: not-a-jid', '  tls: maybe']),
        `sinks: [{ name: out, plugin: couchdb, options: { url: "http://127.0.0.1:${portOf(couch)}", database: db } }]`,
        'nodes: [{ name: docs, members: [bad] }]',
        'subscriptions: [{ name: s1, node: docs, sink: missing-sink }]',
        '',
      ],
      ['replica.id', 'state.retentionDays', 'colour', 'xmpp.jid', 'xmpp.tls', 'nodes[0].members[0]', 'subscriptions[0].sink'],
    );
  });

  it("names every mistake in the plugins' options", async () => {
    await expectRefused(
      'plugins',
      [
        'replica: { id: 1 }',
        `state: { path: ${join(dir, 'never.db')} }`,
        ...xmppLines(['  jid: a@localhost']),
        'sources: [{ name: origin, plugin: couchdb, options: { url: "ftp://x", database: db, batchSize: 0 } }]',
        `sinks: [{ name: out, plugin: couchdb, options: { url: "http://127.0.0.1:${portOf(couch)}", database: "Bad Name" } }, { name: other, plugin: nosuchplugin }]`,
        '',
      ],
      ['sources[0].options.url', 'sources[0].options.batchSize', 'sinks[0].options.database', 'sinks[1].plugin'],
    );
  });
});
