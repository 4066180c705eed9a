import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Message, MessageType, sessionBus, type MessageBus } from 'dbus-next';
import { makeTempDir, removeDir, startProcess, stderrOf, type ServiceProcess } from './service-process.js';

/**
 * A private D-Bus session bus per test (or per suite), plus the two dbus-next helpers every D-Bus
 * test needs: a connection that fails instead of hanging, and a raw match-rule subscription,
 * because proxy subscriptions drop signals from any sender but the current name owner.
 */

export interface DbusDaemon {
  /** `unix:path=<dir>/bus.sock,guid=...`, as printed by dbus-daemon. */
  readonly address: string;
  readonly socketPath: string;
  readonly dir: string;
  /** The daemon itself (it runs with --nofork), so stop-by-pid stops the bus. */
  readonly pid: number;
  /** process.env plus DBUS_SESSION_BUS_ADDRESS, for `gdbus ... --session` and `dbus-send --session`. */
  readonly env: NodeJS.ProcessEnv;
  /** Stops the daemon and removes its directory. Idempotent. */
  stop(): Promise<void>;
}

const DBUS = { destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus' };

// From /work/shared/notes/dbus.md: allow everything (including eavesdropping for dbus-monitor) and
// raise the limits so throughput tests do not hit the session-bus defaults.
function busConfig(socketPath: string): string {
  return `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=${socketPath}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
  <limit name="max_incoming_bytes">1000000000</limit>
  <limit name="max_outgoing_bytes">1000000000</limit>
  <limit name="max_message_size">134217728</limit>
  <limit name="max_replies_per_connection">50000</limit>
</busconfig>
`;
}

/** Starts a private bus; resolves once a real client call has been answered. */
export async function startDbus(options: { timeoutMs?: number } = {}): Promise<DbusDaemon> {
  const { timeoutMs = 10000 } = options;
  const dir = await makeTempDir('dbus');
  const socketPath = join(dir, 'bus.sock');
  const configPath = join(dir, 'bus.conf');
  await writeFile(configPath, busConfig(socketPath));

  let proc: ServiceProcess | undefined;
  const stop = async (): Promise<void> => {
    await proc?.stop();
    await removeDir(dir);
  };
  try {
    proc = startProcess(
      'dbus-daemon',
      [`--config-file=${configPath}`, '--nofork', '--nopidfile', '--nosyslog', '--print-address=1'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const address = await readFirstLine(proc, timeoutMs);
    // The address is printed once the socket listens; Hello (a real method call on the daemon, under
    // the connect timeout) also proves auth and policy.
    (await connectDbus(address, { timeoutMs })).disconnect();
    const { pid } = proc;
    const env = { ...process.env, DBUS_SESSION_BUS_ADDRESS: address };
    return { address, socketPath, dir, pid, env, stop: once(stop) };
  } catch (err) {
    await stop();
    throw err;
  }
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => (running ??= fn());
}

/** The daemon's first stdout line (the address); fails early if it exits, with its stderr. */
function readFirstLine(proc: ServiceProcess, timeoutMs: number): Promise<string> {
  const stdout = proc.child.stdout;
  if (!stdout) return Promise.reject(new Error('dbus-daemon: stdout is not piped'));
  return new Promise((resolve, reject) => {
    let buffered = '';
    let settled = false;
    const finish = (err: Error | undefined, line?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stdout.off('data', onData);
      // Keep the pipe flowing (and discarded) so the daemon never blocks on a full pipe.
      stdout.resume();
      if (err) reject(err);
      else resolve(line ?? '');
    };
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString();
      const end = buffered.indexOf('\n');
      if (end >= 0) finish(undefined, buffered.slice(0, end).trim());
    };
    const timer = setTimeout(
      () => finish(new Error(`dbus-daemon printed no address after ${timeoutMs} ms. ${stderrOf(proc)}`)),
      timeoutMs,
    );
    stdout.on('data', onData);
    void proc.exited.then((code) => finish(new Error(`dbus-daemon exited (${code}) before printing its address. ${stderrOf(proc)}`)));
  });
}

/**
 * A dbus-next client that has completed Hello, or a rejection with the reason. dbus-next never rejects
 * a pending call when its socket fails, so without the timeout a dead bus would hang the test.
 * Callers must `bus.disconnect()`, or the socket keeps the test process alive.
 */
export function connectDbus(address: string, options: { timeoutMs?: number } = {}): Promise<MessageBus> {
  const { timeoutMs = 10000 } = options;
  // Inside the executor, so a malformed address rejects instead of throwing synchronously.
  return new Promise((resolve, reject) => {
    const bus = sessionBus({ busAddress: address });
    let state: 'connecting' | 'connected' | 'failed' = 'connecting';
    const timer = setTimeout(() => fail(new Error(`no Hello reply after ${timeoutMs} ms`)), timeoutMs);
    const fail = (err: unknown): void => {
      if (state !== 'connecting') return;
      state = 'failed';
      clearTimeout(timer);
      bus.disconnect();
      reject(new Error(`cannot connect to ${address}: ${String(err)}`));
    };
    // Stays attached: dbus-next throws on an unheard 'error', and a late one (the daemon stopped
    // under a live client) must be reported, not crash the runner. After a failure it is noise.
    bus.on('error', (err: unknown) => {
      if (state === 'connected') console.error(`dbus-next connection to ${address}: ${String(err)}`);
      else fail(err);
    });
    bus.once('connect', () => {
      if (state !== 'connecting') return;
      state = 'connected';
      clearTimeout(timer);
      resolve(bus);
    });
  });
}

export interface SignalFilter {
  interface: string;
  member?: string;
  path?: string;
}

/** The bus-side match rule for a filter. Names and paths cannot contain quotes, so none are escaped. */
export function signalMatchRule(filter: SignalFilter): string {
  const parts = [`type='signal'`, `interface='${filter.interface}'`];
  if (filter.member !== undefined) parts.push(`member='${filter.member}'`);
  if (filter.path !== undefined) parts.push(`path='${filter.path}'`);
  return parts.join(',');
}

export interface SignalSubscription {
  /** The next matching signal (buffered, so signals sent before next() is called are not lost). */
  next(timeoutMs?: number): Promise<Message>;
  /** Stops listening and removes the match rule. Call before bus.disconnect(); a closed bus drops its rules anyway. */
  close(): Promise<void>;
}

/**
 * Receives signals from any sender (dbus-send, gdbus emit, other processes) through a raw AddMatch
 * rule and the bus 'message' event. Resolves once the bus has accepted the rule, so a signal sent
 * after this resolves is guaranteed to be delivered.
 */
export async function subscribeSignals(bus: MessageBus, filter: SignalFilter): Promise<SignalSubscription> {
  const rule = signalMatchRule(filter);
  const queued: Message[] = [];
  const waiting: Array<(msg: Message) => void> = [];
  const onMessage = (msg: Message): void => {
    if (!matches(msg, filter)) return;
    const waiter = waiting.shift();
    if (waiter) waiter(msg);
    else queued.push(msg);
  };
  bus.on('message', onMessage);
  try {
    await callBusDaemon(bus, 'AddMatch', rule);
  } catch (err) {
    bus.off('message', onMessage);
    throw err;
  }

  const next = (timeoutMs = 5000): Promise<Message> => {
    const ready = queued.shift();
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const waiter = (msg: Message): void => {
        clearTimeout(timer);
        resolve(msg);
      };
      const timer = setTimeout(() => {
        waiting.splice(waiting.indexOf(waiter), 1);
        reject(new Error(`no signal matching ${rule} within ${timeoutMs} ms`));
      }, timeoutMs);
      waiting.push(waiter);
    });
  };
  const close = async (): Promise<void> => {
    bus.off('message', onMessage);
    await callBusDaemon(bus, 'RemoveMatch', rule);
  };
  return { next, close };
}

function matches(msg: Message, filter: SignalFilter): boolean {
  return (
    msg.type === MessageType.SIGNAL &&
    msg.interface === filter.interface &&
    (filter.member === undefined || msg.member === filter.member) &&
    (filter.path === undefined || msg.path === filter.path)
  );
}

async function callBusDaemon(bus: MessageBus, member: 'AddMatch' | 'RemoveMatch', rule: string): Promise<void> {
  await bus.call(new Message({ ...DBUS, member, signature: 's', body: [rule] }));
}
