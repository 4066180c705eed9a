import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { calleeLeft, connectBus, type DbusConnection } from '../../../plugins/dbus/dbus-client.js';
import { connectDbus, startDbus, type DbusDaemon } from '../../harness/dbus.js';

/**
 * A call whose callee leaves the bus before answering (an app restarting mid-rescan) must read as
 * "the app is gone", not as a failed call; a callee that merely does not answer in time must not.
 */
describe('dbus client: a callee that leaves or stalls mid-call', () => {
  let dbus: DbusDaemon;
  let client: DbusConnection;

  before(async () => {
    dbus = await startDbus();
    client = await connectBus(dbus.address, 10_000);
  });
  after(async () => {
    client?.close();
    await dbus?.stop();
  });

  /** A service that owns `name`, never answers, and calls `onCall` when a call arrives. */
  async function silentService(name: string, onCall: (disconnect: () => void) => void): Promise<void> {
    const bus = await connectDbus(dbus.address);
    bus.addMethodHandler(() => {
      onCall(() => bus.disconnect());
      return true;
    });
    await bus.requestName(name, 0);
  }

  it('tells a callee that left the bus before answering', async () => {
    await silentService('org.example.Leaves', (disconnect) => disconnect());
    const call = client.call({ destination: 'org.example.Leaves', path: '/', interface: 'org.example.X', member: 'Get', timeoutMs: 30_000 });
    const error = await call.then(() => undefined, (e: unknown) => e);
    assert.equal(calleeLeft(error), true, `the bus's NoReply for a departed callee: ${String(error)}`);
  });

  it('does not take a local timeout for a departed callee', async () => {
    let leave: (() => void) | undefined;
    await silentService('org.example.Stalls', (disconnect) => (leave = disconnect));
    const call = client.call({ destination: 'org.example.Stalls', path: '/', interface: 'org.example.X', member: 'Get', timeoutMs: 300 });
    const error = await call.then(() => undefined, (e: unknown) => e);
    leave?.();
    assert.equal(calleeLeft(error), false, `a timeout is not a departure: ${String(error)}`);
    assert.match(String(error), /no reply after 300 ms/);
  });
});
