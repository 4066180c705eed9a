import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ErrorCodes } from '../../src/errors/index.js';
import { startProsody, type ProsodyServer, type XmppAccount } from '../harness/prosody.js';
import { pubsync } from '../support/cli.js';
import { startDaemon } from '../support/daemon-process.js';
import { seededRandom } from '../support/seeded-random.js';
import { startTcpProxy } from '../support/tcp-proxy.js';
import { startCouchPair } from './couch-pair.js';
import { converge, CouchWorkload } from './couch-workload.js';

/**
 * Security promises checked end to end, with the real CLI and servers. Covered elsewhere and not
 * repeated here: the whitelist on subscribe, items and the catch-up IQ
 * (test/integration/xmpp/transport.test.ts), a read-only peer's entries refused
 * (test/integration/xmpp/control-room.test.ts), a publisher off the list refused by the server
 * (fuzz-inbound.test.ts), the transform sandbox's functions and instructions
 * (test/unit/transform/sandbox.test.ts), the state files' mode under umasks 000 and 022
 * (test/unit/state/state-file.test.ts).
 */

/** An address of this machine that is not loopback, if it has one. */
function nonLoopbackAddress(): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const address of list ?? []) if (address.family === 'IPv4' && !address.internal) return address.address;
  }
  return undefined;
}

describe('TLS off loopback', { timeout: 120_000 }, () => {
  let prosody: ProsodyServer;
  let account: XmppAccount;
  let dir: string;
  const host = nonLoopbackAddress();

  before(async () => {
    prosody = await startProsody({ startTimeoutMs: 60_000 });
    account = await prosody.createAccount('remote');
    dir = await mkdtemp(join(tmpdir(), 'pubsync-tls-'));
  });
  after(async () => {
    await prosody?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function configVia(proxyHost: string, port: number, tls: 'required' | 'off' | undefined): Promise<string> {
    const file = join(dir, `${tls ?? 'default'}.yaml`);
    await writeFile(
      file,
      [
        'replica: { id: 1 }',
        `state: { path: ${join(dir, `${tls ?? 'default'}.db`)} }`,
        'xmpp:',
        `  service: xmpp://${proxyHost}:${port}`,
        '  domain: localhost',
        `  jid: ${account.jid}`,
        `  password: ${JSON.stringify(account.password)}`,
        '  pubsubService: pubsub.localhost',
        ...(tls ? [`  tls: ${tls}`] : []),
        '',
      ].join('\n'),
    );
    return file;
  }

  it('this machine has a non-loopback address to test with', () => {
    assert.ok(host, 'no non-loopback IPv4 address');
  });

  for (const tls of [undefined, 'required'] as const) {
    it(`with tls ${tls ?? 'left at its default'}, refuses to log in to a server without TLS: the password never crosses`, async () => {
      // Prosody without TLS, reached through a non-loopback address of this machine.
      const proxy = await startTcpProxy({ host: prosody.host, port: prosody.port }, { host: host ?? '0.0.0.0' });
      try {
        const daemon = startDaemon(await configVia(host ?? '', proxy.port, tls), { args: ['--connect-timeout', '20000'] });
        const code = await daemon.exited;
        assert.notEqual(code, 0);
        assert.match(daemon.stderr(), new RegExp(ErrorCodes.XMPP_INSECURE));
        assert.match(daemon.stderr(), /refusing to authenticate to .* without TLS/);
        assert.ok(proxy.connections() > 0, 'it did reach the server');
        const sent = proxy.sent().toString('latin1');
        assert.doesNotMatch(sent, /<auth /, 'no SASL exchange was started');
        assert.ok(!sent.includes(account.password) && !sent.includes(Buffer.from(`\0remote\0${account.password}`).toString('base64')), 'the password never crossed');
      } finally {
        await proxy.close();
      }
    });
  }

  it('with tls: off chosen explicitly, logs a warning and connects', async () => {
    const proxy = await startTcpProxy({ host: prosody.host, port: prosody.port }, { host: host ?? '0.0.0.0' });
    try {
      const daemon = startDaemon(await configVia(host ?? '', proxy.port, 'off'));
      const warning = await daemon.logged('TLS is turned off for a non-loopback XMPP server: traffic is readable on the network');
      assert.equal(warning['level'], 40);
      await daemon.logged('ready');
      assert.equal(await daemon.terminate(), 0);
    } finally {
      await proxy.close();
    }
  });
});

describe('secrets', { timeout: 300_000 }, () => {
  it('never reach a debug log of a full run, errors included; every file the daemon creates is owner-only under umask 000', { timeout: 300_000 }, async (t) => {
    const couchUser = { name: 'reliab', password: 'Couch-Secret-5f2c91' };
    const pair = await startCouchPair({ logLevel: 'debug', couchUser });
    try {
      // A refused login first (an error path), then the real runs under umask 000.
      await writeFile(`${pair.configA}.wrong.yaml`, readFileSync(pair.configA, 'utf8').replace(/password: ".*"/, 'password: "Wrong-Secret-8d1e"'));
      const wrong = startDaemon(`${pair.configA}.wrong.yaml`);
      assert.equal(await wrong.exited, 4);
      await pair.startB({ umask: 0o000 });
      await pair.startA({ umask: 0o000 });
      const workload = new CouchWorkload(pair.dbA, seededRandom(7), { maxDocs: 50, batch: 25 });
      await workload.write(200);
      // Errors while running: the origin CouchDB restarts (its client logs connection failures).
      await pair.serverA.restart();
      await workload.write(1).catch(() => undefined);
      await pair.a?.logged(/source failed|retrying|unreachable|away/i, 60_000).catch(() => undefined);
      const fresh = new CouchWorkload(pair.dbA, seededRandom(8), { maxDocs: 50, batch: 25 });
      await fresh.write(50).catch(() => undefined);
      await converge(pair.dbA, pair.dbB, 60_000).catch(() => []);
      // While both run: the databases, their -wal and -shm, the admin endpoint's address file.
      const created = (await readdir(pair.dir)).filter((name) => /^[ab]\.db/.test(name));
      assert.ok(created.includes('a.db-wal') && created.some((name) => name.endsWith('-admin.json')), created.join(', '));
      for (const name of created) {
        const mode = (await stat(join(pair.dir, name))).mode & 0o777;
        assert.equal(mode & 0o077, 0, `${name} is ${mode.toString(8)} under umask 000`);
      }
      t.diagnostic(`owner-only under umask 000: ${created.join(', ')}`);
      await pair.a?.terminate();
      await pair.b?.terminate();

      const logs = [wrong.stderr(), pair.a?.stderr() ?? '', pair.b?.stderr() ?? ''].join('\n');
      const xmppPasswords = [pair.configA, pair.configB].map((file) => /password: "(.*)"/.exec(readFileSync(file, 'utf8'))?.[1] ?? '');
      const secrets = [
        couchUser.password,
        Buffer.from(`${couchUser.name}:${couchUser.password}`).toString('base64'),
        'Wrong-Secret-8d1e',
        ...xmppPasswords,
        ...xmppPasswords.flatMap((p, i) => [Buffer.from(`\0rel-${i === 0 ? 'a' : 'b'}\0${p}`).toString('base64')]),
      ];
      assert.ok(xmppPasswords.every((p) => p.length >= 8));
      const debugLines = logs.split('\n').filter((l) => l.includes('"level":20')).length;
      const errorLines = logs.split('\n').filter((l) => /"level":(40|50|60)/.test(l)).length;
      t.diagnostic(`searched ${logs.length} bytes of log (${debugLines} debug lines, ${errorLines} warnings and errors) for ${secrets.length} secrets`);
      assert.ok(debugLines > 0, 'the run logged at debug level');
      assert.ok(errorLines > 0, 'the run logged errors too');
      for (const secret of secrets) assert.ok(!logs.includes(secret), `a secret (${secret.slice(0, 3)}...) is in the log`);

    } finally {
      await pair.close();
    }
  });
});

describe('stylesheets', { timeout: 120_000 }, () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pubsync-xsl-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const input = fileURLToPath(new URL('../fixtures/transforms/identity/input.xml', import.meta.url));
  const stylesheet = (include: string): string =>
    `<xsl:stylesheet version="3.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">\n<xsl:${include}/>\n<xsl:template match="/"><xsl:copy-of select="."/></xsl:template>\n</xsl:stylesheet>\n`;

  for (const instruction of ['include', 'import'] as const) {
    it(`xsl:${instruction} of an http:// URL is refused without any request`, async () => {
      let requests = 0;
      const server = createServer((_req, res) => {
        requests++;
        res.end('<xsl:stylesheet version="3.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"/>');
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const address = server.address();
        const port = typeof address === 'object' && address ? address.port : 0;
        const file = join(dir, `http-${instruction}.xsl`);
        await writeFile(file, stylesheet(`${instruction} href="http://127.0.0.1:${port}/evil.xsl"`));
        const result = await pubsync('transform', '--xsl', file, input, '--cache-dir', join(dir, 'cache'));
        assert.notEqual(result.code, 0);
        assert.match(result.stderr, new RegExp(`xsl:${instruction} of +http://127\\.0\\.0\\.1:${port}/evil\\.xsl failed`));
        assert.equal(requests, 0, 'the network was not reached');
      } finally {
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    });

    it(`xsl:${instruction} of a data file (file:///) fails without showing its content`, async () => {
      const secret = 'Secret-In-A-File-44e1';
      const data = join(dir, 'data.xml');
      await writeFile(data, `<secret>${secret}</secret>`);
      const file = join(dir, `file-${instruction}.xsl`);
      await writeFile(file, stylesheet(`${instruction} href="file://${data}"`));
      const result = await pubsync('transform', '--xsl', file, input, '--cache-dir', join(dir, 'cache'));
      assert.notEqual(result.code, 0);
      assert.ok(!result.stdout.includes(secret) && !result.stderr.includes(secret), 'the file content is not shown');
    });
  }
});
