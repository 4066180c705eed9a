import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startDemoServices, type DemoServices } from './demo-services.js';
import { examples, exampleNames, type ExampleName } from './example-catalog.js';
import { startExampleDaemons, type ExampleDaemons } from './example-daemons.js';
import { repoRoot } from './pubsync-process.js';
import { withoutCredentials } from './foreign-clients.js';
import { startLiveView } from './live-view.js';
import { runTour } from './tours.js';

/**
 * The demo: private servers on loopback, the daemons of the three worked examples as
 * `pubsync run` processes, scripted changes made with real clients (ldapadd/ldapmodify, curl,
 * gdbus/dbus-send) and their arrival on the other side. Then it keeps running for you to try
 * (interactive), or stops and exits 0 (--once). Ctrl-C (SIGINT) or SIGTERM stops everything:
 * the daemons first (they drain), then the servers, all by pid.
 */

const usage = `usage: node --import tsx examples/demo/main.ts [--once] [--examples NAME,...]

  --once              run the scripted changes, check that each arrived, stop everything, exit 0
  --examples NAMES    a comma-separated subset of: ${exampleNames.join(', ')}
  --no-tour           make no scripted changes: start everything and wait, to try it by hand
`;

const out = (text = ''): void => void process.stdout.write(`${text}\n`);

interface Parsed {
  readonly once: boolean;
  readonly tour: boolean;
  readonly names: readonly ExampleName[];
}

function parse(argv: readonly string[]): Parsed {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      once: { type: 'boolean', default: false },
      'no-tour': { type: 'boolean', default: false },
      examples: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    out(usage);
    process.exit(0);
  }
  const names = (values.examples?.split(',').map((name) => name.trim()) ?? [...exampleNames]) as ExampleName[];
  const unknown = names.filter((name) => !exampleNames.includes(name));
  if (unknown.length > 0 || names.length === 0) throw new Error(`unknown example ${unknown.join(', ')}\n${usage}`);
  if (values.once && values['no-tour']) throw new Error(`--once and --no-tour exclude each other\n${usage}`);
  return { once: values.once, tour: !values['no-tour'], names };
}

/**
 * Signals: the first stops everything in order; a second one while stopping kills by pid at once.
 * A repeat within a second is the same Ctrl-C arriving twice (from the terminal and from a parent
 * such as npm that forwards it), not a second request.
 */
class StopRequest {
  #signal: string | undefined;
  #at = 0;
  #wake: () => void = () => undefined;
  readonly requested = new Promise<void>((resolve) => (this.#wake = resolve));

  constructor(private readonly onForce: () => void) {
    for (const name of ['SIGINT', 'SIGTERM'] as const) process.on(name, () => this.#received(name));
  }

  get signal(): string | undefined {
    return this.#signal;
  }

  #received(name: string): void {
    if (this.#signal !== undefined) {
      if (Date.now() - this.#at >= 1000) this.onForce();
      return;
    }
    this.#signal = name;
    this.#at = Date.now();
    out(`\n${name}: stopping the daemons, then the servers (again to kill at once)`);
    this.#wake();
  }
}

async function main(): Promise<number> {
  const { once, tour, names } = parse(process.argv.slice(2));
  // process.exit runs the harness's exit hook, which SIGKILLs every child it started.
  const stop = new StopRequest(() => process.exit(1));
  let services: DemoServices | undefined;
  let daemons: ExampleDaemons | undefined;
  /** Stops the daemons once; true when every one exited 0 (drained and committed). */
  const stopDaemons = async (): Promise<boolean> => {
    const running = daemons;
    daemons = undefined;
    const codes = await running?.stop();
    if (!codes) return true;
    out(`daemons stopped: ${Object.entries(codes).map(([label, code]) => `${label} ${code}`).join(', ')}`);
    return Object.values(codes).every((code) => code === 0);
  };
  try {
    out(`pubsync demo: ${names.join(', ')}`);
    out('starting private servers on 127.0.0.1 ...');
    services = await startDemoServices(names);
    describeServices(services);
    if (stop.signal) return 0;

    out('starting the daemons (pubsync run --config examples/<example>/<file>.yaml) ...');
    daemons = await startExampleDaemons(names, services.env, ['--shutdown-timeout', '15000']);
    for (const daemon of daemons.all) out(`  ${daemon.label.padEnd(12)} pid ${daemon.pid}`);
    watchFailures(daemons);
    if (stop.signal) return 0;

    const envFile = join(services.dir, 'demo.env');
    await writeFile(envFile, envText(services.env), { mode: 0o600 });
    for (const name of tour ? names : []) {
      out();
      out(`== ${name}: ${examples[name].summary}`);
      await Promise.race([runTour(name, services, { line: out }), stop.requested]);
      if (stop.signal) return 0;
    }
    out();
    if (once) {
      out('every change arrived.');
      return (await stopDaemons()) ? 0 : 1;
    }
    tryItYourself(services, names, envFile);
    const live = startLiveView(names, services, out);
    await stop.requested;
    live.stop();
    return 0;
  } catch (error) {
    for (const daemon of daemons?.all ?? []) out(`-- last log lines of ${daemon.label}:\n${daemon.brief(8)}`);
    throw error;
  } finally {
    await stopDaemons();
    await services?.stop();
    if (services) out('servers stopped; temporary files removed.');
  }
}

function describeServices(services: DemoServices): void {
  const { prosody, couch, slapd, dbus, notesApp } = services;
  out(`  prosody      pid ${prosody.pid}  ${prosody.service} (pubsub ${prosody.pubsubService})`);
  out(`  couchdb      ${couch.pid === undefined ? 'external' : `pid ${couch.pid}`}  ${withoutCredentials(couch.url)}`);
  if (slapd) out(`  slapd        pid ${slapd.pid}  ${slapd.url} (${slapd.suffix})`);
  if (dbus) out(`  dbus-daemon  pid ${dbus.pid}  ${dbus.address}`);
  if (notesApp) out(`  notes app    pid ${notesApp.proc.pid}  org.pubsync.Notes (examples/dbus-notes-app)`);
  out(`  files        ${services.dir} (state databases, env file; removed at the end)`);
}

/** A daemon that dies while the demo runs is news: say so with its last log lines. */
function watchFailures(daemons: ExampleDaemons): void {
  for (const daemon of daemons.all) {
    void daemon.exited.then((code) => {
      if (code !== 0) out(`!! ${daemon.label} (pid ${daemon.pid}) exited with ${code}:\n${daemon.brief(5)}`);
    });
  }
}

function tryItYourself(services: DemoServices, names: readonly ExampleName[], envFile: string): void {
  const { slapd, dbus } = services;
  out('Everything keeps running. In another terminal, try (the passwords are in the env file):');
  out(`  set -a; . ${envFile}; set +a`);
  if (names.includes('directory-to-cms') && slapd) {
    out('  ldapadd -x -H "$LDAP_URL" -D "$LDAP_ADMIN_DN" -w "$LDAP_ADMIN_PASSWORD" <<EOF');
    out(`dn: cn=Carla Diaz,ou=people,${slapd.suffix}\nobjectClass: inetOrgPerson\ncn: Carla Diaz\nsn: Diaz\nmail: carla@example.org\nEOF`);
    out('  curl -s "$COUCHDB_URL/$CMS_DATABASE/_all_docs?include_docs=true"     # then edit one:');
    out(`  curl -X PUT -H 'Content-Type: application/json' "$COUCHDB_URL/$CMS_DATABASE/<id>" -d '<the document as read, with "phone": "+1 555 0199">'`);
  }
  if (names.includes('couch-multimaster')) {
    out(`  curl -X PUT -H 'Content-Type: application/json' "$SITE_A_COUCHDB_URL/$SITE_A_DATABASE/hello" -d '{"text": "hi"}'`);
    out(`  curl "$SITE_C_COUCHDB_URL/$SITE_C_DATABASE/hello"`);
  }
  if (names.includes('dbus-notes') && dbus) {
    out(`  gdbus call --address "$NOTES_DBUS_ADDRESS" --dest org.pubsync.Notes --object-path /org/pubsync/Notes \\`);
    out(`    --method org.pubsync.Notes.Put n2 "{'title': <'Hi'>, 'body': <'from gdbus'>}"`);
    out(`  curl -s "$COUCHDB_URL/$MEMOS_DATABASE/_all_docs?include_docs=true"`);
  }
  out(`  npx pubsync status --config ${relative(repoRoot, examples[names[0] ?? 'couch-multimaster'].daemons[0]?.config ?? '')}   # with the env file loaded`);
  out('What changes in the applications is shown below as it happens ([live] lines).');
  out('Press Ctrl-C to stop everything.');
}

function envText(env: Readonly<Record<string, string>>, extra: Record<string, string> = {}): string {
  const quote = (value: string): string => `'${value.replace(/'/g, `'\\''`)}'`;
  return `${Object.entries({ ...env, ...extra })
    .map(([name, value]) => `${name}=${quote(value)}`)
    .join('\n')}\n`;
}

/**
 * On a terminal, Ctrl-C sends SIGINT to the whole foreground process group: the servers would die
 * under the daemons while these drain. So the demo runs itself again in a session of its own and
 * passes the signal on; it then stops the daemons first and the servers after them.
 */
function runDetached(): void {
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    detached: true,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, [DETACHED]: '1' },
  });
  for (const name of ['SIGINT', 'SIGTERM'] as const) process.on(name, () => child.kill(name));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

const DETACHED = 'PUBSYNC_DEMO_DETACHED';

if (process.stdin.isTTY && process.env[DETACHED] !== '1') runDetached();
else main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`demo failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
