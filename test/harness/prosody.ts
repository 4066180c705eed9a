import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  freePort,
  makeTempDir,
  removeDir,
  startProcess,
  stderrOf,
  waitUntil,
  type ServiceProcess,
} from './service-process.js';

/**
 * A private, throwaway Prosody 0.12 for integration tests: own temp dir, own loopback port, memory
 * storage (fast) except accounts (internal files, so they can be written from outside and survive a
 * restart). See /work/shared/notes/xmpp-prosody.md for why each config line is there.
 */

export interface ProsodyOptions {
  /** Extra JIDs that may create pubsub nodes; admin@localhost (see `admin`) is always one. */
  admins?: readonly string[];
  /** c2s_stanza_size_limit in bytes (client-to-server only). Default 262144. */
  stanzaSizeLimit?: number;
  /** pubsub_max_items: the cap a node's max_items may be set to. Default 256. */
  pubsubMaxItems?: number;
  /** A port to try first; if it is taken, a free one is used instead (check `port`). */
  port?: number;
  /** Keep the temp dir after stop(), to read the log of a failing test. */
  keepDir?: boolean;
  /** How long one start may take before it counts as failed. Default 15000. */
  startTimeoutMs?: number;
}

export interface XmppAccount {
  /** Bare JID, e.g. 'alice@localhost'. */
  readonly jid: string;
  /** Local part, as @xmpp/client's `username` wants it. */
  readonly username: string;
  readonly password: string;
}

export interface ProsodyServer {
  readonly host: '127.0.0.1';
  /** Changes only if restart() found its old port taken (see restart()). */
  readonly port: number;
  readonly domain: 'localhost';
  readonly pubsubService: 'pubsub.localhost';
  readonly mucService: 'conference.localhost';
  /** 'xmpp://127.0.0.1:PORT', for @xmpp/client's `service`. */
  readonly service: string;
  readonly dir: string;
  readonly configFile: string;
  readonly logFile: string;
  /** Pid of the running server (a new one after restart()). */
  readonly pid: number;
  /** An account created at start that is a pubsub admin. */
  readonly admin: XmppAccount;
  /** Works before and while the server runs; a random password if none is given. */
  createAccount(username: string, password?: string): Promise<XmppAccount>;
  /**
   * Stop and start on the same data dir and, if still free, the same port. Memory storage (nodes,
   * items, rosters, rooms) is lost; accounts survive.
   */
  restart(): Promise<void>;
  /** Stops the server by pid and removes its temp dir. Idempotent. */
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
const DOMAIN = 'localhost';
const PUBSUB = 'pubsub.localhost';
const MUC = 'conference.localhost';
const ADMIN_USER = 'admin';
const START_ATTEMPTS = 4;

export async function startProsody(options: ProsodyOptions = {}): Promise<ProsodyServer> {
  const dir = await makeTempDir('prosody');
  try {
    const paths = layout(dir);
    await mkdir(paths.dataDir);
    const admin = await writeAccount(paths.dataDir, ADMIN_USER, randomPassword());
    const settings: ConfigSettings = {
      ...paths,
      port: 0,
      admins: [admin.jid, ...(options.admins ?? [])],
      stanzaSizeLimit: options.stanzaSizeLimit ?? 262144,
      pubsubMaxItems: options.pubsubMaxItems ?? 256,
    };
    const timeoutMs = options.startTimeoutMs ?? 15000;
    const running = await launch(settings, options.port, timeoutMs);
    return new RunningProsody(dir, settings, running, admin, options.keepDir ?? false, timeoutMs);
  } catch (error) {
    if (!options.keepDir) await removeDir(dir);
    throw error;
  }
}

/**
 * Prosody's datamanager file-name encoding (util/datamanager.lua `encode`): every byte outside
 * [a-zA-Z0-9] becomes %xx, lower-case hex, over the UTF-8 bytes.
 */
export function encodeDataName(name: string): string {
  let out = '';
  for (const byte of Buffer.from(name, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[a-zA-Z0-9]/.test(c) ? c : `%${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}

interface Paths {
  configFile: string;
  dataDir: string;
  logFile: string;
  runDir: string;
}

interface ConfigSettings extends Paths {
  port: number;
  admins: readonly string[];
  stanzaSizeLimit: number;
  pubsubMaxItems: number;
}

function layout(dir: string): Paths {
  return {
    configFile: join(dir, 'prosody.cfg.lua'),
    dataDir: join(dir, 'data'),
    logFile: join(dir, 'prosody.log'),
    runDir: dir,
  };
}

class RunningProsody implements ProsodyServer {
  readonly host = HOST;
  readonly domain = DOMAIN;
  readonly pubsubService = PUBSUB;
  readonly mucService = MUC;
  readonly configFile: string;
  readonly logFile: string;
  private stopped: Promise<void> | undefined;

  constructor(
    readonly dir: string,
    private readonly settings: ConfigSettings,
    private proc: ServiceProcess,
    readonly admin: XmppAccount,
    private readonly keepDir: boolean,
    private readonly timeoutMs: number,
  ) {
    this.configFile = settings.configFile;
    this.logFile = settings.logFile;
  }

  get port(): number {
    return this.settings.port;
  }

  get pid(): number {
    return this.proc.pid;
  }

  get service(): string {
    return `xmpp://${HOST}:${this.settings.port}`;
  }

  createAccount(username: string, password: string = randomPassword()): Promise<XmppAccount> {
    return writeAccount(this.settings.dataDir, username, password);
  }

  async restart(): Promise<void> {
    if (this.stopped) throw new Error('restart() after stop()');
    await this.proc.stop();
    this.proc = await launch(this.settings, this.settings.port, this.timeoutMs);
  }

  stop(): Promise<void> {
    this.stopped ??= (async () => {
      await this.proc.stop();
      if (!this.keepDir) await removeDir(this.dir);
    })();
    return this.stopped;
  }
}

/**
 * Starts Prosody and waits for its c2s listener. A port that was free when picked can be taken
 * before Prosody binds it (another instance, another test); Prosody then keeps running without
 * c2s, so stop it and try a fresh port. Updates settings.port to the port that worked.
 */
async function launch(settings: ConfigSettings, preferredPort: number | undefined, timeoutMs: number): Promise<ServiceProcess> {
  let lastClash = '';
  for (let attempt = 0; attempt < START_ATTEMPTS; attempt++) {
    const port = attempt === 0 && preferredPort !== undefined ? preferredPort : await freePort();
    const proc = await startOnce({ ...settings, port }, timeoutMs);
    if (proc) {
      settings.port = port;
      return proc;
    }
    lastClash = `port ${port}`;
  }
  throw new Error(`Prosody: c2s port clash on ${START_ATTEMPTS} attempts (last ${lastClash}); log: ${settings.logFile}`);
}

/** One start attempt: the running process, or undefined if its port was taken. */
async function startOnce(settings: ConfigSettings, timeoutMs: number): Promise<ServiceProcess | undefined> {
  await writeFile(settings.configFile, renderConfig(settings));
  // The log is appended across restarts; only lines written by this start count.
  const logOffset = await fileSize(settings.logFile);
  const proc = startProcess('prosody', ['-F', '--config', settings.configFile], { cwd: settings.runDir });
  let outcome: 'ready' | 'clash';
  try {
    outcome = await waitUntil('Prosody c2s', () => startOutcome(settings, logOffset), { proc, timeoutMs });
  } catch (error) {
    await proc.stop();
    const log = (await readLogFrom(settings.logFile, logOffset)).slice(-4000);
    throw new Error(`${(error as Error).message}\n--- prosody log ---\n${log}\n--- stderr ---\n${stderrOf(proc)}`);
  }
  if (outcome === 'ready') return proc;
  await proc.stop();
  return undefined;
}

async function startOutcome(settings: ConfigSettings, logOffset: number): Promise<'ready' | 'clash' | undefined> {
  const log = await readLogFrom(settings.logFile, logOffset);
  // The port must be in the line: a bare open port could belong to some other server.
  if (log.includes(`Activated service 'c2s' on [${HOST}]:${settings.port}\n`)) return 'ready';
  if (log.includes(`Failed to open server port ${settings.port} on`) || log.includes(`Activated service 'c2s' on no ports`)) {
    return 'clash';
  }
  return undefined;
}

/** The log from a byte offset (stat() sizes are bytes, string indexes are not). */
async function readLogFrom(path: string, offset: number): Promise<string> {
  try {
    return (await readFile(path)).subarray(offset).toString('utf8');
  } catch {
    return '';
  }
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

function renderConfig(s: ConfigSettings): string {
  const lua = luaString;
  return `-- Generated by test/harness/prosody.ts for one test instance.
-- As root, Prosody refuses to finish setup (no signal handlers, read-only accounts) without this.
run_as_root = true
data_path = ${lua(s.dataDir)}
pidfile = ${lua(join(s.runDir, 'prosody.pid'))}
-- Only silences the missing-certs-dir error; there is no TLS here.
certificates = ${lua(s.runDir)}
plugin_paths = {}
interfaces = { ${lua(HOST)} }
c2s_ports = { ${s.port} }
-- Every other listener off, so parallel instances never fight over fixed ports.
s2s_ports = {}
component_ports = {}
http_ports = {}
https_ports = {}
c2s_direct_tls_ports = {}
legacy_ssl_ports = {}
-- No mod_limits: its default rate would cap a client at a few publishes a second.
modules_enabled = { "disco", "roster", "saslauth", "ping", "posix" }
modules_disabled = { "s2s", "s2s_auth_certs", "offline" }
-- Plain TCP on loopback: without this Prosody offers no SASL before TLS.
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_plain"
c2s_stanza_size_limit = ${s.stanzaSizeLimit}
default_storage = "memory"
-- Files, so accounts can be written by the harness directly and survive restart().
storage = { accounts = "internal" }
-- Never stdout: an unread stdout pipe stalls the server.
log = { { levels = { min = "info" }, to = "file", filename = ${lua(s.logFile)} } }

VirtualHost ${lua(DOMAIN)}

Component ${lua(PUBSUB)} "pubsub"
  admins = { ${s.admins.map(lua).join(', ')} }
  pubsub_max_items = ${s.pubsubMaxItems}

Component ${lua(MUC)} "muc"
  muc_room_locking = false
`;
}

/** A Lua string literal that survives any input: all but plain printable ASCII as \ddd. */
function luaString(value: string): string {
  let out = '"';
  for (const byte of Buffer.from(value, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += byte >= 0x20 && byte < 0x7f && c !== '"' && c !== '\\' ? c : `\\${byte.toString().padStart(3, '0')}`;
  }
  return `${out}"`;
}

/**
 * Writes the account file mod_auth_internal_plain reads, instead of running prosodyctl (a Lua
 * process per account). Prosody reads it on every login, so this works while the server runs.
 */
async function writeAccount(dataDir: string, username: string, password: string): Promise<XmppAccount> {
  checkUsername(username);
  const accountsDir = join(dataDir, encodeDataName(DOMAIN), 'accounts');
  await mkdir(accountsDir, { recursive: true });
  const file = join(accountsDir, `${encodeDataName(username)}.dat`);
  // Write then rename, so a login racing this call never reads half a file.
  const scratch = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(scratch, `return {\n\t["password"] = ${luaString(password)};\n};\n`);
  await rename(scratch, file);
  return { jid: `${username}@${DOMAIN}`, username, password };
}

/**
 * Prosody stores accounts under the nodeprep'd name; a name nodeprep would change would be written
 * to a file no login ever reads, so refuse it rather than approximate stringprep here.
 */
function checkUsername(username: string): void {
  if (username === '' || /[\s"&'/:<>@]/.test(username) || username !== username.normalize('NFKC').toLowerCase()) {
    throw new Error(`createAccount: '${username}' is not a normalized XMPP local part (use lower case, no "&'/:<>@ or spaces)`);
  }
}

function randomPassword(): string {
  return randomBytes(12).toString('base64url');
}
