import { execFile } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startProcess, stderrOf, type ServiceProcess } from '../../harness/service-process.js';

/** The example notes app as a real process on a bus, plus the shell clients the tests use on it. */

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const MAIN = join(repo, 'examples', 'dbus-notes-app', 'main.ts');
const run = promisify(execFile);

export const APP = { service: 'org.pubsync.Notes', path: '/org/pubsync/Notes', iface: 'org.pubsync.Notes' } as const;

export interface NotesApp {
  readonly proc: ServiceProcess;
  /** The app's unique connection name (":1.5"), from its ready line. */
  readonly uniqueName: string;
  stop(): Promise<void>;
}

/** Starts the app and resolves on its ready line (it prints it once it owns its name). */
export async function startNotesApp(address: string, data: string, extra: readonly string[] = []): Promise<NotesApp> {
  const proc = startProcess(process.execPath, ['--import', 'tsx', MAIN, '--bus', address, '--data', data, ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: repo,
  });
  const stdout = proc.child.stdout;
  if (!stdout) throw new Error('the app stdout is not piped');
  const line = await new Promise<string>((resolveLine, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`notes app not ready after 20 s. ${stderrOf(proc)}`)), 20_000);
    stdout.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const end = text.indexOf('\n');
      if (end >= 0) {
        clearTimeout(timer);
        resolveLine(text.slice(0, end));
      }
    });
    void proc.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`notes app exited (${code}) before ready. ${stderrOf(proc)}`));
    });
  });
  const match = /^ready (\S+) (\S+)$/.exec(line);
  if (!match) throw new Error(`unexpected ready line ${JSON.stringify(line)}`);
  return { proc, uniqueName: match[2] ?? '', stop: () => proc.stop() };
}

/** `gdbus call` on the app; returns stdout (GVariant text). */
export async function gdbusCall(address: string, method: string, ...args: string[]): Promise<string> {
  const { stdout } = await run('gdbus', [
    'call',
    '--address',
    address,
    '--dest',
    APP.service,
    '--object-path',
    APP.path,
    '--method',
    `${APP.iface}.${method}`,
    ...args,
  ]);
  return stdout.trim();
}

/** `dbus-send --print-reply` on the app; returns stdout. */
export async function dbusSendCall(address: string, method: string, ...args: string[]): Promise<string> {
  const { stdout } = await run('dbus-send', [
    `--bus=${address}`,
    '--print-reply',
    `--dest=${APP.service}`,
    APP.path,
    `${APP.iface}.${method}`,
    ...args,
  ]);
  return stdout;
}

/** A foreign ObjectChanged signal from dbus-send (not the app's name owner). */
export async function dbusSendSignal(address: string, id: string, op = 'put'): Promise<void> {
  await run('dbus-send', [`--bus=${address}`, '--type=signal', APP.path, `${APP.iface}.ObjectChanged`, 'string:note', `string:${id}`, `string:${op}`]);
}

/** A foreign ObjectChanged signal from `gdbus emit` (it needs --session and the env; see notes/dbus.md). */
export async function gdbusEmit(env: NodeJS.ProcessEnv, id: string, op = 'put'): Promise<void> {
  await run('gdbus', ['emit', '--session', '--object-path', APP.path, '--signal', `${APP.iface}.ObjectChanged`, 'note', id, op], { env });
}
