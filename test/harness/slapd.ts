import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { access, mkdir, writeFile } from 'node:fs/promises';
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
 * A private OpenLDAP slapd per test: own temp dir and port, accesslog DB (with syncprov) in front of
 * the main DB, as described in shared/notes/ldap-openldap.md. Helpers drive the real OpenLDAP
 * command-line clients so tests check the server, not our own LDAP client code.
 */

export const SUFFIX = 'dc=example,dc=org';
export const ACCESSLOG_SUFFIX = 'cn=accesslog';
export const ADMIN_DN = `cn=admin,${SUFFIX}`;
export const REPLICATOR_DN = `cn=replicator,${SUFFIX}`;
export const SYNCREADER_DN = `cn=syncreader,${SUFFIX}`;

/** The note's default: keep a week, scan daily. */
const DEFAULT_LOGPURGE = '07+00:00 01+00:00';
const PORT_ATTEMPTS = 5;
const READY_TIMEOUT_MS = 10_000;
// Generous: a client that hangs (server wedged) should fail the test, not the whole run's timeout.
const TOOL_TIMEOUT_MS = 15_000;

// Debian paths first; the others are where other distributions put the same files.
const SCHEMA_DIRS = ['/etc/ldap/schema', '/etc/openldap/schema', '/usr/local/etc/openldap/schema'];
const MODULE_DIRS = ['/usr/lib/ldap', '/usr/lib64/openldap', '/usr/lib/openldap', '/usr/libexec/openldap'];
// /usr/sbin is often missing from PATH for non-root users, so look there explicitly.
const SBIN_DIRS = ['/usr/sbin', '/usr/local/sbin'];

export interface LdapIdentity {
  readonly dn: string;
  readonly password: string;
}

export interface SlapdOptions {
  /**
   * `logpurge <age> <interval>` of the accesslog overlay, format `[ddd+]hh:mm[:ss]`
   * (e.g. '00:00:01 00:00:01' to purge within seconds); false leaves the log unpurged.
   */
  readonly logpurge?: string | false;
  /** Drop per-commit fsync on both databases. Default true: tests do not need durability. */
  readonly dbnosync?: boolean;
  /** Lines for the global section (before the first database). */
  readonly globalConfig?: readonly string[];
  /** Lines appended to the main database section, i.e. after its syncprov and accesslog overlays. */
  readonly extraConfig?: readonly string[];
  /**
   * Put the syncprov overlay on the accesslog database. Default true; false stands for a server
   * whose log offers no RFC 4533 (a capture has to poll it by entryCSN).
   */
  readonly accesslogSyncprov?: boolean;
}

export interface SearchExtras {
  /** Bind identity; default admin. */
  readonly as?: LdapIdentity;
  /** Default 'sub'. */
  readonly scope?: 'base' | 'one' | 'sub' | 'children';
  /** Further ldapsearch arguments, e.g. ['-E', 'pr=100/noprompt']. */
  readonly args?: readonly string[];
}

export interface ModRdnOptions {
  /** ldapmodrdn -r. Default false, like the tool. */
  readonly deleteOldRdn?: boolean;
  readonly newSuperior?: string;
}

export interface SlapdInstance {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** Pid of the current slapd process; changes on restart(). */
  readonly pid: number;
  readonly suffix: string;
  readonly accesslogSuffix: string;
  readonly admin: LdapIdentity;
  readonly replicator: LdapIdentity;
  readonly syncreader: LdapIdentity;
  /** Stops and starts slapd on the same port with the same databases. */
  restart(): Promise<void>;
  /** Stops slapd and removes its directory. Idempotent. */
  stop(): Promise<void>;
  ldapadd(ldif: string, as?: LdapIdentity): Promise<string>;
  ldapmodify(ldif: string, as?: LdapIdentity): Promise<string>;
  ldapdelete(dn: string, as?: LdapIdentity): Promise<string>;
  ldapmodrdn(dn: string, newRdn: string, options?: ModRdnOptions, as?: LdapIdentity): Promise<string>;
  /** Returns ldapsearch's -LLL output, unwrapped (one line per value). */
  ldapsearch(base: string, filter?: string, attrs?: readonly string[], extras?: SearchExtras): Promise<string>;
}

/** A failed OpenLDAP tool run; exitCode is the LDAP result code for the clients (e.g. 50, 68). */
export class LdapToolError extends Error {
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(message);
    this.name = 'LdapToolError';
  }
}

interface Paths {
  readonly schemaDir: string;
  readonly moduleDir: string;
  readonly slapd: string;
  readonly slapadd: string;
  readonly slaptest: string;
}

export async function startSlapd(options: SlapdOptions = {}): Promise<SlapdInstance> {
  const paths = await openldapPaths();
  const dir = await makeTempDir('slapd');
  try {
    const identities = {
      admin: { dn: ADMIN_DN, password: newPassword() },
      replicator: { dn: REPLICATOR_DN, password: newPassword() },
      syncreader: { dn: SYNCREADER_DN, password: newPassword() },
    };
    const config = await prepareInstance(paths, dir, identities, options);
    const { proc, port } = await launchOnFreePort(paths.slapd, config);
    return makeInstance({ paths, dir, config, port, proc, ...identities });
  } catch (error) {
    await removeDir(dir);
    throw error;
  }
}

interface InstanceState {
  readonly paths: Paths;
  readonly dir: string;
  readonly config: string;
  readonly port: number;
  proc: ServiceProcess;
  readonly admin: LdapIdentity;
  readonly replicator: LdapIdentity;
  readonly syncreader: LdapIdentity;
}

function makeInstance(state: InstanceState): SlapdInstance {
  const url = urlFor(state.port);
  const { admin } = state;
  let stopping: Promise<void> | undefined;
  const client = (tool: string, args: readonly string[], as: LdapIdentity, input?: string): Promise<string> =>
    runTool(tool, [...bindArgs(url, as), ...args], input);

  return {
    url,
    port: state.port,
    dir: state.dir,
    get pid() {
      return state.proc.pid;
    },
    suffix: SUFFIX,
    accesslogSuffix: ACCESSLOG_SUFFIX,
    admin,
    replicator: state.replicator,
    syncreader: state.syncreader,
    async restart() {
      if (stopping) throw new Error('slapd instance already stopped');
      await state.proc.stop();
      // Same port on purpose: clients under test keep their URL. A clash here is a real failure.
      state.proc = await launch(state.paths.slapd, state.config, state.port);
    },
    stop() {
      stopping ??= state.proc.stop().then(() => removeDir(state.dir));
      return stopping;
    },
    ldapadd: (ldif, as = admin) => client('ldapadd', [], as, ldif),
    ldapmodify: (ldif, as = admin) => client('ldapmodify', [], as, ldif),
    ldapdelete: (dn, as = admin) => client('ldapdelete', [dn], as),
    ldapmodrdn: (dn, newRdn, options = {}, as = admin) =>
      client('ldapmodrdn', [...modRdnArgs(options), dn, newRdn], as),
    ldapsearch: (base, filter = '(objectClass=*)', attrs = [], extras = {}) =>
      client(
        'ldapsearch',
        ['-LLL', '-o', 'ldif_wrap=no', '-s', extras.scope ?? 'sub', ...(extras.args ?? []), '-b', base, filter, ...attrs],
        extras.as ?? admin,
      ),
  };
}

function modRdnArgs(options: ModRdnOptions): string[] {
  const args: string[] = [];
  if (options.deleteOldRdn) args.push('-r');
  if (options.newSuperior !== undefined) args.push('-s', options.newSuperior);
  return args;
}

function bindArgs(url: string, as: LdapIdentity): string[] {
  return ['-x', '-H', url, '-D', as.dn, '-w', as.password];
}

function urlFor(port: number): string {
  return `ldap://127.0.0.1:${port}`;
}

function newPassword(): string {
  return randomBytes(12).toString('hex');
}

/** Writes and validates slapd.conf, then loads the base entries offline. Returns the config path. */
async function prepareInstance(
  paths: Paths,
  dir: string,
  ids: { admin: LdapIdentity; replicator: LdapIdentity; syncreader: LdapIdentity },
  options: SlapdOptions,
): Promise<string> {
  await mkdir(join(dir, 'accesslog'));
  await mkdir(join(dir, 'data'));
  const config = join(dir, 'slapd.conf');
  await writeFile(config, slapdConf(paths, dir, ids.admin.password, options));
  await runTool(paths.slaptest, ['-u', '-f', config]);
  // -q skips consistency checks: safe on an empty database and noticeably faster.
  await runTool(paths.slapadd, ['-q', '-f', config, '-b', SUFFIX], baseLdif(ids.replicator, ids.syncreader));
  return config;
}

/** slapd.conf from the note; the accesslog DB must precede the DB that logs into it. */
function slapdConf(
  paths: Pick<Paths, 'schemaDir' | 'moduleDir'>,
  dir: string,
  adminPassword: string,
  options: SlapdOptions = {},
): string {
  const { logpurge = DEFAULT_LOGPURGE, dbnosync = true, globalConfig = [], extraConfig = [], accesslogSyncprov = true } = options;
  const nosync = dbnosync ? ['dbnosync'] : [];
  const logSyncprov = accesslogSyncprov ? ['overlay syncprov', 'syncprov-nopresent TRUE', 'syncprov-reloadhint TRUE'] : [];
  return [
    ...['core', 'cosine', 'inetorgperson', 'nis'].map((schema) => `include ${paths.schemaDir}/${schema}.schema`),
    `pidfile ${dir}/slapd.pid`,
    `argsfile ${dir}/slapd.args`,
    `modulepath ${paths.moduleDir}`,
    'moduleload back_mdb',
    'moduleload syncprov',
    'moduleload accesslog',
    // Without these, non-rootdn searches stop at 500 entries.
    'sizelimit unlimited',
    'timelimit unlimited',
    ...globalConfig,
    '',
    'database mdb',
    `suffix "${ACCESSLOG_SUFFIX}"`,
    `directory ${dir}/accesslog`,
    ...nosync,
    'maxsize 1073741824',
    // The main DB's rootdn is not root here, so admin needs an explicit grant too.
    'access to *',
    `  by dn.exact="${ADMIN_DN}" read`,
    `  by dn.exact="${SYNCREADER_DN}" read`,
    '  by * none',
    'index default eq',
    'index objectClass,entryCSN,reqEnd,reqResult,reqStart,reqDN,reqAuthzID',
    ...logSyncprov,
    '',
    'database mdb',
    `suffix "${SUFFIX}"`,
    `rootdn "${ADMIN_DN}"`,
    `rootpw ${adminPassword}`,
    `directory ${dir}/data`,
    ...nosync,
    'maxsize 1073741824',
    'access to attrs=userPassword',
    '  by self write',
    '  by anonymous auth',
    '  by * none',
    'access to *',
    `  by dn.exact="${REPLICATOR_DN}" write`,
    `  by dn.exact="${SYNCREADER_DN}" read`,
    '  by users read',
    '  by * none',
    'index objectClass eq',
    'index entryCSN,entryUUID eq',
    'index uid,cn eq',
    'overlay syncprov',
    'syncprov-checkpoint 100 1',
    `syncprov-sessionlog-source ${ACCESSLOG_SUFFIX}`,
    'overlay accesslog',
    `logdb "${ACCESSLOG_SUFFIX}"`,
    'logops writes',
    'logsuccess TRUE',
    'logold (objectClass=*)',
    ...(logpurge === false ? [] : [`logpurge ${logpurge}`]),
    ...extraConfig,
    '',
  ].join('\n');
}

/** Suffix, the two OUs and the two service identities (simple-bindable via userPassword). */
function baseLdif(replicator: LdapIdentity, syncreader: LdapIdentity): string {
  const identity = (id: LdapIdentity, cn: string): string =>
    [
      `dn: ${id.dn}`,
      'objectClass: organizationalRole',
      'objectClass: simpleSecurityObject',
      `cn: ${cn}`,
      `userPassword: ${id.password}`,
    ].join('\n');
  return [
    [`dn: ${SUFFIX}`, 'objectClass: dcObject', 'objectClass: organization', 'dc: example', 'o: Example'].join('\n'),
    [`dn: ou=people,${SUFFIX}`, 'objectClass: organizationalUnit', 'ou: people'].join('\n'),
    [`dn: ou=groups,${SUFFIX}`, 'objectClass: organizationalUnit', 'ou: groups'].join('\n'),
    identity(replicator, 'replicator'),
    identity(syncreader, 'syncreader'),
  ].join('\n\n') + '\n';
}

/** freePort() can lose a race to another process; slapd then exits, so retry on a fresh port. */
async function launchOnFreePort(slapd: string, config: string): Promise<{ proc: ServiceProcess; port: number }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      return { proc: await launch(slapd, config, port), port };
    } catch (error) {
      if (!(error instanceof PortInUseError) || attempt >= PORT_ATTEMPTS) throw error;
    }
  }
}

class PortInUseError extends Error {}

async function launch(slapd: string, config: string, port: number): Promise<ServiceProcess> {
  const url = urlFor(port);
  // `-d none` keeps slapd in the foreground (pid = child pid) and prints only errors, e.g. the
  // bind failure that tells a port clash apart from other failures. `-d 0` would print nothing.
  const proc = startProcess(slapd, ['-h', `${url}/`, '-f', config, '-d', 'none']);
  try {
    await waitUntil(`slapd on ${url}`, () => probe(url), { proc, timeoutMs: READY_TIMEOUT_MS, pollMs: 10 });
    return proc;
  } catch (error) {
    await proc.stop();
    const stderr = await finalStderr(proc);
    if (/errno=98|Address already in use/.test(stderr)) throw new PortInUseError(`port ${port} in use: ${stderr}`);
    throw new Error(`slapd on ${url} did not become ready; stderr: ${stderr.trim() || '(empty)'}`, { cause: error });
  }
}

/** 'exit' can fire before the stderr pipe is drained, so wait for the pipe before reading the tail. */
async function finalStderr(proc: ServiceProcess): Promise<string> {
  const stream = proc.child.stderr;
  if (stream && !stream.closed) await once(stream, 'close');
  return stderrOf(proc);
}

/** Ready means a real search is answered, not merely that the port accepts connections. */
async function probe(url: string): Promise<true | undefined> {
  try {
    const out = await runTool('ldapsearch', ['-x', '-H', url, '-b', '', '-s', 'base', '-LLL', 'namingContexts']);
    return out.includes(`namingContexts: ${SUFFIX}`) ? true : undefined;
  } catch {
    return undefined;
  }
}

/** Runs an OpenLDAP tool to completion; rejects with LdapToolError (password redacted) on failure. */
export function runTool(command: string, args: readonly string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], timeout: TOOL_TIMEOUT_MS });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    // A tool that fails before reading its input closes stdin early; 'close' reports the real error.
    child.stdin.on('error', () => undefined);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0) return resolve(stdout);
      const shown = [command, ...redact(args)].join(' ');
      reject(new LdapToolError(`${shown} failed (${code ?? signal}): ${stderr.trim()}`, code, stderr));
    });
    child.stdin.end(input ?? '');
  });
}

function redact(args: readonly string[]): string[] {
  return args.map((arg, i) => (args[i - 1] === '-w' ? '***' : arg));
}

let cachedPaths: Promise<Paths> | undefined;

/** Locates the slapd package's schema dir, module dir and server binaries once per process. */
function openldapPaths(): Promise<Paths> {
  cachedPaths ??= (async () => {
    const sbin = async (name: string): Promise<string> =>
      (await firstExisting(SBIN_DIRS.map((d) => join(d, name)))) ?? name;
    const schemaDir = await firstExisting(SCHEMA_DIRS, 'core.schema');
    const moduleDir = await firstExisting(MODULE_DIRS, 'back_mdb.so');
    if (!schemaDir || !moduleDir) {
      throw new Error(`OpenLDAP not found (schema dir: ${schemaDir}, module dir: ${moduleDir}); install slapd`);
    }
    return {
      schemaDir,
      moduleDir,
      slapd: await sbin('slapd'),
      slapadd: await sbin('slapadd'),
      slaptest: await sbin('slaptest'),
    };
  })();
  return cachedPaths;
}

async function firstExisting(candidates: readonly string[], inside = ''): Promise<string | undefined> {
  for (const candidate of candidates) {
    try {
      await access(join(candidate, inside));
      return candidate;
    } catch {
      // try the next one
    }
  }
  return undefined;
}
