import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { interface as dbusInterface, Message, RequestNameReply, type MessageBus } from 'dbus-next';
import { connectDbus, startDbus, subscribeSignals, type DbusDaemon } from './dbus.js';

const run = promisify(execFile);

const NAME = 'org.pubsync.Test';
const PATH = '/org/pubsync/Test';
const IFACE = 'org.pubsync.Test';

// Decorators crash dbus-next under TypeScript, so members are declared with configureMembers.
class TestInterface extends dbusInterface.Interface {
  Shout(text: string): string {
    return text.toUpperCase();
  }

  // Calling a configured signal method emits its return value as the signal body.
  Pinged(who: string, count: number): [string, number] {
    return [who, count];
  }
}
TestInterface.configureMembers({
  methods: { Shout: { inSignature: 's', outSignature: 's' } },
  signals: { Pinged: { signature: 'si' } },
});

async function exportService(address: string): Promise<{ bus: MessageBus; iface: TestInterface }> {
  const bus = await connectDbus(address);
  const iface = new TestInterface(IFACE);
  bus.export(PATH, iface);
  assert.equal(await bus.requestName(NAME, 0), RequestNameReply.PRIMARY_OWNER);
  return { bus, iface };
}

async function busId(busArgs: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const { stdout } = await run(
    'dbus-send',
    [...busArgs, '--print-reply', '--dest=org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus.GetId'],
    { env },
  );
  return stdout.match(/string "(\w+)"/)?.[1] ?? stdout;
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

void test('startDbus runs a private bus that the CLI clients reach through env', async (t) => {
  const bus = await startDbus();
  t.after(() => bus.stop());
  assert.match(bus.address, /^unix:path=.+\/bus\.sock,guid=[0-9a-f]{32}$/);
  assert.ok(bus.address.startsWith(`unix:path=${bus.socketPath},`));
  assert.ok(bus.socketPath.startsWith(`${bus.dir}/`));
  assert.ok(processExists(bus.pid));
  assert.equal(bus.env.DBUS_SESSION_BUS_ADDRESS, bus.address);

  // --session (not --bus) proves env points at the private bus. GetId is the daemon's bus id, which
  // is not the guid in the address, so compare it with the id the address itself reaches.
  const viaEnv = await busId(['--session'], bus.env);
  assert.match(viaEnv, /^[0-9a-f]{32}$/);
  assert.equal(viaEnv, await busId([`--bus=${bus.address}`]));
});

void describe('a dbus-next service on the private bus', () => {
  let dbus: DbusDaemon;
  let service: { bus: MessageBus; iface: TestInterface };
  let client: MessageBus;

  before(async () => {
    dbus = await startDbus();
    service = await exportService(dbus.address);
    client = await connectDbus(dbus.address);
  });
  after(async () => {
    client?.disconnect();
    service?.bus.disconnect();
    await dbus?.stop();
  });

  void test('answers gdbus call', async () => {
    const { stdout } = await run('gdbus', [
      'call', '--address', dbus.address, '--dest', NAME, '--object-path', PATH, '--method', `${IFACE}.Shout`, 'hello',
    ]);
    assert.equal(stdout.trim(), "('HELLO',)");
  });

  void test('answers dbus-send --print-reply', async () => {
    const { stdout } = await run('dbus-send', [
      `--bus=${dbus.address}`, '--print-reply', `--dest=${NAME}`, PATH, `${IFACE}.Shout`, 'string:from dbus-send',
    ]);
    assert.match(stdout, /string "FROM DBUS-SEND"/);
  });

  void test('emits its signal to a proxy subscriber', async () => {
    const proxy = await client.getProxyObject(NAME, PATH);
    const remote = proxy.getInterface(IFACE);
    const received = new Promise<unknown[]>((resolve) => remote.once('Pinged', (...args: unknown[]) => resolve(args)));
    // The proxy sends its AddMatch without awaiting the reply; the daemon handles a connection's
    // messages in order, so any later round trip proves the rule is in place before the signal.
    await client.call(new Message({ destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'GetId' }));
    service.iface.Pinged('service', 1);
    assert.deepEqual(await received, ['service', 1]);
  });

  void test('delivers foreign signals (dbus-send, gdbus emit) through a raw match rule', async () => {
    const signals = await subscribeSignals(client, { interface: IFACE, member: 'Pinged' });
    try {
      await run('dbus-send', [`--bus=${dbus.address}`, '--type=signal', PATH, `${IFACE}.Pinged`, 'string:dbus-send', 'int32:2']);
      const fromDbusSend = await signals.next();
      assert.deepEqual(fromDbusSend.body, ['dbus-send', 2]);
      // dbus-next sets the unique name at runtime but does not declare it.
      assert.notEqual(fromDbusSend.sender, (service.bus as MessageBus & { name: string }).name);

      // gdbus emit --address sends no Hello and is never delivered; --session with env is.
      await run('gdbus', ['emit', '--session', '--object-path', '/elsewhere', '--signal', `${IFACE}.Pinged`, "'gdbus'", '3'], {
        env: dbus.env,
      });
      const fromGdbus = await signals.next();
      assert.deepEqual(fromGdbus.body, ['gdbus', 3]);
      assert.equal(fromGdbus.path, '/elsewhere');
    } finally {
      await signals.close();
    }
  });
});

void test('two buses run side by side, independently', async (t) => {
  const [first, second] = await Promise.all([startDbus(), startDbus()]);
  t.after(() => Promise.all([first.stop(), second.stop()]));
  assert.notEqual(first.pid, second.pid);
  assert.notEqual(first.socketPath, second.socketPath);

  // The same well-known name is owned on both, so neither bus sees the other.
  const services = await Promise.all([exportService(first.address), exportService(second.address)]);
  try {
    const answers = await Promise.all(
      [first, second].map((bus) =>
        run('gdbus', ['call', '--address', bus.address, '--dest', NAME, '--object-path', PATH, '--method', `${IFACE}.Shout`, 'x']),
      ),
    );
    assert.deepEqual(answers.map((answer) => answer.stdout.trim()), ["('X',)", "('X',)"]);
  } finally {
    for (const service of services) service.bus.disconnect();
  }
});

void test('stop kills the daemon by pid and removes its directory', async () => {
  const bus = await startDbus();
  await bus.stop();
  assert.equal(processExists(bus.pid), false);
  assert.equal(existsSync(bus.dir), false);
  await bus.stop(); // idempotent
});
