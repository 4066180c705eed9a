import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { composeFromConfig } from '../../src/app/compose.js';
import type { Daemon } from '../../src/app/daemon.js';
import { configSchema } from '../../src/config/schema.js';
import type { PluginDefinition } from '../../src/plugin-api/index.js';
import { openStateStore, type SqliteStateStore } from '../../src/state/index.js';
import type { ProsodyServer, XmppAccount } from '../harness/prosody.js';
import { quiet } from '../integration/xmpp/replicas.js';
import type { ReplicaControl } from './convergence-workload.js';

/** What one member of the mesh runs beside its application. */
export interface MemberSpec {
  readonly sources: readonly Record<string, unknown>[];
  readonly sinks: readonly Record<string, unknown>[];
  /** The sink (by name) that applies what the peers publish. */
  readonly sink: string;
  /** The subscription transform for what comes from that peer, if any. */
  readonly transformFrom?: (peer: number) => { stylesheet: string; params?: Record<string, string> } | undefined;
  readonly builtins?: readonly PluginDefinition[];
  readonly replication?: Record<string, unknown>;
}

/**
 * A TCP relay between one daemon and Prosody, so that the test can cut that daemon's XMPP
 * connection as a network would (both directions dropped, reconnects refused) and heal it.
 */
export class TcpCut {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #cut = false;

  private constructor(server: Server) {
    this.#server = server;
  }

  static async open(host: string, port: number): Promise<TcpCut> {
    const server = createServer();
    const relay = new TcpCut(server);
    server.on('connection', (client) => relay.#accept(client, host, port));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return relay;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  #accept(client: Socket, host: string, port: number): void {
    if (this.#cut) {
      client.destroy();
      return;
    }
    const upstream = createConnection({ host, port });
    for (const socket of [client, upstream]) {
      this.#sockets.add(socket);
      socket.on('error', () => socket.destroy());
      socket.on('close', () => {
        this.#sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  }

  cut(): void {
    this.#cut = true;
    for (const socket of this.#sockets) socket.destroy();
  }

  heal(): void {
    this.#cut = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/** One daemon of the mesh: publishes node `<name>-objects` to the others, subscribes to theirs. */
export class MeshReplica implements ReplicaControl {
  readonly dir = mkdtempSync(join(tmpdir(), 'pubsync-convergence-'));
  daemon: Daemon | undefined;
  #reader: SqliteStateStore | undefined;

  constructor(
    readonly index: number,
    readonly name: string,
    readonly account: XmppAccount,
    private readonly prosody: ProsodyServer,
    private readonly relay: TcpCut,
    private readonly spec: MemberSpec,
    private readonly peers: readonly { index: number; name: string; jid: string }[],
  ) {}

  get statePath(): string {
    return join(this.dir, 'state.db');
  }

  get configPath(): string {
    return join(this.dir, 'pubsync.yaml');
  }

  /** The replica id in CSNs (index + 1). */
  get replicaId(): number {
    return this.index + 1;
  }

  /** A read-side handle on the state database, shared by the checks (SQLite readers do not block the daemon). */
  get store(): SqliteStateStore {
    this.#reader ??= openStateStore(this.statePath);
    return this.#reader;
  }

  async start(): Promise<void> {
    const { prosody, spec, peers } = this;
    const config = configSchema.parse({
      replica: { id: this.replicaId },
      state: { path: this.statePath },
      xmpp: {
        service: `xmpp://127.0.0.1:${this.relay.port}`,
        domain: prosody.domain,
        jid: this.account.jid,
        password: this.account.password,
        pubsubService: prosody.pubsubService,
      },
      ...(spec.replication ? { replication: spec.replication } : {}),
      sources: spec.sources,
      sinks: spec.sinks,
      nodes: [{ name: `${this.name}-objects`, members: peers.map((p) => p.jid) }],
      subscriptions: peers.map((peer) => {
        const transform = spec.transformFrom?.(peer.index);
        return {
          name: `from-${peer.name}`,
          node: `${peer.name}-objects`,
          publisher: peer.jid,
          sink: spec.sink,
          ...(transform ? { transform } : {}),
        };
      }),
    });
    // The same config on disk, so that the real CLI (`pubsync status -c`) can read this replica's state.
    writeFileSync(this.configPath, JSON.stringify(config, null, 2), { mode: 0o600 });
    this.daemon = await composeFromConfig(
      { file: this.configPath, config, locate: () => undefined },
      { logger: quiet, ...(spec.builtins ? { builtins: [...spec.builtins] } : {}) },
    );
    await this.daemon.start();
  }

  async stop(): Promise<void> {
    await this.daemon?.stop();
    this.daemon = undefined;
  }

  async cut(): Promise<void> {
    this.relay.cut();
    await Promise.resolve();
  }

  async heal(): Promise<void> {
    this.relay.heal();
    await Promise.resolve();
  }

  /** The highest origin seq this replica applied from each peer's node. */
  highWater(peer: string): bigint {
    return this.store
      .listHighWater()
      .filter((h) => h.subscription === `from-${peer}`)
      .reduce((max, h) => (h.seq > max ? h.seq : max), 0n);
  }

  async dispose(): Promise<void> {
    await this.stop();
    this.#reader?.close();
    this.#reader = undefined;
    await this.relay.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export const MESH_NAMES = ['r1', 'r2', 'r3'] as const;

/** Accounts, relays and daemons for a full mesh of `specs.length` replicas through one Prosody. */
export async function startMesh(prosody: ProsodyServer, specs: readonly MemberSpec[]): Promise<MeshReplica[]> {
  const names = specs.map((_, i) => MESH_NAMES[i] ?? `r${i + 1}`);
  const accounts = await Promise.all(names.map((n) => prosody.createAccount(n)));
  const replicas: MeshReplica[] = [];
  for (const [i, spec] of specs.entries()) {
    const relay = await TcpCut.open(prosody.host, prosody.port);
    const peers = accounts.flatMap((account, j) => (j === i ? [] : [{ index: j, name: names[j] ?? '', jid: account.jid }]));
    replicas.push(new MeshReplica(i, names[i] ?? '', accounts[i] as XmppAccount, prosody, relay, spec, peers));
  }
  for (const replica of replicas) await replica.start();
  return replicas;
}

/** A mesh member beside one CouchDB database: the couchdb source and the sink linked to it. */
export function couchMember(url: string, database: string, extra: Partial<MemberSpec> = {}): MemberSpec {
  const connection = { url, database };
  return {
    sources: [{ name: 'couch', plugin: 'couchdb', options: { ...connection, longpollTimeoutMs: 500, reconnectMinMs: 50, reconnectMaxMs: 500 } }],
    sinks: [{ name: 'couch', plugin: 'couchdb', source: 'couch', options: connection }],
    sink: 'couch',
    ...extra,
  };
}
