import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { client, xml, type Client } from '@xmpp/client';
import { removeDir } from './service-process.js';
import { encodeDataName, startProsody, type ProsodyServer, type XmppAccount } from './prosody.js';

// From xml() rather than '@xmpp/xml', which is only a transitive dependency.
type Element = ReturnType<typeof xml>;

const PUBSUB_NS = 'http://jabber.org/protocol/pubsub';
const IQ_TIMEOUT_MS = 3000;

/**
 * Logs in over plain TCP with PLAIN: @xmpp/client never picks PLAIN without TLS on its own, and
 * SCRAM costs ~200 ms a login. Fine here because the server is on loopback.
 */
async function login(server: ProsodyServer, account: XmppAccount, password = account.password): Promise<Client> {
  const xmpp = client({
    service: server.service,
    domain: server.domain,
    resource: 'harness-test',
    credentials: (authenticate, mechanisms) =>
      authenticate(
        { username: account.username, password },
        mechanisms.includes('PLAIN') ? 'PLAIN' : (mechanisms[0] ?? ''),
        // Only the SASL2 typings require a user agent; Prosody 0.12 does legacy SASL, which ignores it.
        xml('user-agent'),
      ),
  });
  // A test that ends must not leave a reconnect timer keeping the process alive.
  xmpp.reconnect.stop();
  // Failures surface as start()'s rejection; without a listener the 'error' event would throw.
  xmpp.on('error', () => {});
  try {
    await xmpp.start();
  } catch (error) {
    await xmpp.stop().catch(() => {});
    throw error;
  }
  return xmpp;
}

/**
 * Typed on purpose: under NodeNext, @types/xmpp__client's import of '@xmpp/iq/caller' does not
 * resolve, so `iqCaller` is silently `any`. A short timeout, because a dead stream only rejects
 * pending IQs at their timeout.
 */
function request(xmpp: Client, stanza: Element): Promise<Element> {
  return xmpp.iqCaller.request(stanza, IQ_TIMEOUT_MS) as Promise<Element>;
}

function createNode(xmpp: Client, server: ProsodyServer, node: string): Promise<Element> {
  return request(xmpp, xml('iq', { type: 'set', to: server.pubsubService }, xml('pubsub', { xmlns: PUBSUB_NS }, xml('create', { node }))));
}

async function listNodes(xmpp: Client, server: ProsodyServer): Promise<string[]> {
  const reply = await request(
    xmpp,
    xml('iq', { type: 'get', to: server.pubsubService }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#items' })),
  );
  const query = reply.getChild('query');
  assert.ok(query, 'disco#items result without <query/>');
  return query.getChildren('item').map((item) => String(item.attrs.node));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    assert.equal((error as NodeJS.ErrnoException).code, 'ESRCH');
    return false;
  }
}

/** Runs fn with a client that is always closed, so a failed assertion leaves no open socket. */
async function withLogin<T>(server: ProsodyServer, account: XmppAccount, fn: (xmpp: Client) => Promise<T>): Promise<T> {
  const xmpp = await login(server, account);
  try {
    return await fn(xmpp);
  } finally {
    await xmpp.stop();
  }
}

describe('startProsody', () => {
  let server: ProsodyServer;

  before(async () => {
    server = await startProsody();
  });

  after(async () => {
    await server?.stop();
  });

  test('starts a private instance and reports ready on its own port', async () => {
    assert.equal(server.host, '127.0.0.1');
    assert.equal(server.domain, 'localhost');
    assert.equal(server.pubsubService, 'pubsub.localhost');
    assert.equal(server.mucService, 'conference.localhost');
    assert.equal(server.service, `xmpp://127.0.0.1:${server.port}`);
    assert.ok(server.port > 0);
    assert.ok(isAlive(server.pid));
    assert.ok(server.dir.startsWith(tmpdir()));
    const log = await readFile(server.logFile, 'utf8');
    assert.match(log, new RegExp(`Activated service 'c2s' on \\[127\\.0\\.0\\.1\\]:${server.port}\\n`));
    assert.doesNotMatch(log, /\terror\t/);
    // The c2s line can precede the pidfile (Prosody loads hosts in hash order); both exist once the
    // event loop runs, which a login proves.
    await withLogin(server, server.admin, async () => {});
    assert.equal(Number((await readFile(join(server.dir, 'prosody.pid'), 'utf8')).trim()), server.pid);
  });

  test('a created account logs in; a wrong password gets SASL not-authorized', async () => {
    const alice = await server.createAccount('alice', 'pw-alice');
    assert.deepEqual(alice, { jid: 'alice@localhost', username: 'alice', password: 'pw-alice' });
    await withLogin(server, alice, async (xmpp) => {
      assert.equal(xmpp.jid?.bare().toString(), 'alice@localhost');
    });
    await assert.rejects(login(server, alice, 'wrong'), (error: Error & { condition?: string }) => {
      assert.equal(error.name, 'SASLError');
      assert.equal(error.condition, 'not-authorized');
      return true;
    });
  });

  test('account names with escaped characters and awkward passwords work', async () => {
    const account = await server.createAccount('late.user-1', 'p"ss\\w{rd} 1');
    assert.ok(existsSync(join(server.dir, 'data', 'localhost', 'accounts', 'late%2euser%2d1.dat')));
    await withLogin(server, account, async () => {});
  });

  test('non-ASCII passwords are stored as UTF-8', async () => {
    const account = await server.createAccount('unicode', 'pä€ss');
    // @xmpp/client 0.14 base64-encodes SASL with btoa(), i.e. Latin-1 (and throws above U+00FF), so
    // the client needs the UTF-8 bytes as a binary string to send what the server stored.
    const utf8AsBinary = Buffer.from(account.password, 'utf8').toString('latin1');
    await withLogin(server, { ...account, password: utf8AsBinary }, async () => {});
  });

  test('refuses names Prosody would store under another name', async () => {
    await assert.rejects(server.createAccount('Alice'), /not a normalized/);
    await assert.rejects(server.createAccount('a b'), /not a normalized/);
    await assert.rejects(server.createAccount(''), /not a normalized/);
  });

  test('the admin can create a pubsub node; others cannot', async () => {
    await withLogin(server, server.admin, async (xmpp) => {
      const reply = await createNode(xmpp, server, 'harness-smoke');
      assert.equal(reply.attrs.type, 'result');
      assert.deepEqual(await listNodes(xmpp, server), ['harness-smoke']);
    });
    const bob = await server.createAccount('bob');
    await withLogin(server, bob, async (xmpp) => {
      await assert.rejects(createNode(xmpp, server, 'not-mine'), { condition: 'forbidden' });
    });
  });

  test('extra admins from options may create nodes', async () => {
    const other = await startProsody({ admins: ['carol@localhost'] });
    try {
      const carol = await other.createAccount('carol');
      await withLogin(other, carol, async (xmpp) => {
        assert.equal((await createNode(xmpp, other, 'carols')).attrs.type, 'result');
      });
      assert.match(await readFile(other.configFile, 'utf8'), /admins = \{ "admin@localhost", "carol@localhost" \}/);
    } finally {
      await other.stop();
    }
  });

  test('two instances run side by side, and stopping one leaves the other', async () => {
    const second = await startProsody();
    try {
      assert.notEqual(second.port, server.port);
      assert.notEqual(second.pid, server.pid);
      assert.notEqual(second.dir, server.dir);
      const here = await server.createAccount('twin', 'pw-first');
      const there = await second.createAccount('twin', 'pw-second');
      await Promise.all([withLogin(server, here, async () => {}), withLogin(second, there, async () => {})]);
      // Accounts are per instance: the first server's password is wrong on the second.
      await assert.rejects(login(second, here), { condition: 'not-authorized' });
    } finally {
      await second.stop();
    }
    assert.ok(isAlive(server.pid));
    await withLogin(server, server.admin, async () => {});
  });
});

describe('ProsodyServer lifecycle', () => {
  test('stop() kills the process, removes only its own dir, and is idempotent', async () => {
    const neighbour = await mkdtemp(join(tmpdir(), 'pubsync-prosody-neighbour-'));
    const server = await startProsody();
    try {
      await writeFile(join(neighbour, 'keep.txt'), 'mine');
      const { pid, dir } = server;
      await server.stop();
      assert.equal(isAlive(pid), false);
      assert.equal(existsSync(dir), false);
      assert.equal(await readFile(join(neighbour, 'keep.txt'), 'utf8'), 'mine');
      await server.stop();
      await assert.rejects(server.restart(), /after stop/);
    } finally {
      await server.stop();
      await removeDir(neighbour);
    }
  });

  test('a taken port is detected from the log and another one is used', async () => {
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const taken = (squatter.address() as AddressInfo).port;
    const server = await startProsody({ port: taken, keepDir: true });
    try {
      assert.notEqual(server.port, taken);
      await withLogin(server, server.admin, async () => {});
      await server.stop();
      assert.match(await readFile(server.logFile, 'utf8'), new RegExp(`Failed to open server port ${taken} on`));
    } finally {
      await server.stop();
      await removeDir(server.dir);
      await new Promise((resolve) => squatter.close(resolve));
    }
  });

  test('keepDir leaves the log for a post-mortem', async () => {
    const server = await startProsody({ keepDir: true });
    try {
      await server.stop();
      assert.match(await readFile(server.logFile, 'utf8'), /Activated service 'c2s'/);
    } finally {
      await removeDir(server.dir);
    }
  });

  test('restart() keeps port, data dir and accounts, and drops memory storage', async () => {
    const server = await startProsody();
    try {
      const dave = await server.createAccount('dave');
      await withLogin(server, server.admin, (xmpp) => createNode(xmpp, server, 'before-restart'));
      const { pid, port, dir } = server;

      await server.restart();

      assert.notEqual(server.pid, pid);
      assert.equal(isAlive(pid), false);
      assert.equal(server.port, port);
      assert.equal(server.dir, dir);
      await withLogin(server, dave, async () => {});
      await withLogin(server, server.admin, async (xmpp) => {
        assert.deepEqual(await listNodes(xmpp, server), []);
      });
    } finally {
      await server.stop();
    }
  });
});

test('encodeDataName matches util/datamanager.lua encode', () => {
  assert.equal(encodeDataName('alice'), 'alice');
  assert.equal(encodeDataName('late.user'), 'late%2euser');
  assert.equal(encodeDataName('a_b-c'), 'a%5fb%2dc');
  assert.equal(encodeDataName('é'), '%c3%a9');
});
