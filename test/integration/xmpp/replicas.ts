import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { z } from 'zod';
import { composeFromConfig } from '../../../src/app/compose.js';
import type { Daemon } from '../../../src/app/daemon.js';
import type { LoadedConfig } from '../../../src/config/index.js';
import { configSchema } from '../../../src/config/schema.js';
import { definePlugin } from '../../../src/plugin-api/index.js';
import type { SourceChange } from '../../../src/plugin-api/index.js';
import { openStateStore } from '../../../src/state/index.js';
import type { XmppTransport } from '../../../src/transport/xmpp-transport.js';
import type { ProsodyServer, XmppAccount } from '../../harness/prosody.js';
import { MemorySink, MemorySource } from '../../support/memory-plugins.js';

export const quiet = pino({ level: process.env.PUBSYNC_TEST_LOG ?? 'silent' });

export interface ReplicaSpec {
  readonly account: XmppAccount;
  readonly replica: number;
  readonly nodes?: readonly { name: string; members?: string[]; publishers?: string[] }[];
  readonly subscriptions?: readonly {
    name: string;
    node: string;
    publisher?: string;
    transform?: { stylesheet: string; params?: Record<string, string> };
  }[];
  readonly xmpp?: Record<string, unknown>;
}

/**
 * One replica of the end-to-end tests: a real daemon (composition root, SQLite state in a temp
 * dir, the XMPP transport) with the test-only memory source and sink standing in for applications.
 * start()/stop() can be called again: the state database stays, as for a restarted daemon.
 */
export class Replica {
  readonly dir = mkdtempSync(join(tmpdir(), 'pubsync-xmpp-'));
  readonly source = new MemorySource();
  readonly sink = new MemorySink();
  daemon: Daemon | undefined;

  constructor(
    private readonly prosody: ProsodyServer,
    private readonly spec: ReplicaSpec,
  ) {
    this.source.batchSize = 500;
  }

  get transport(): XmppTransport {
    const transport = this.daemon?.transport;
    if (!transport) throw new Error('replica not started');
    return transport as XmppTransport;
  }

  config(): LoadedConfig {
    const { prosody, spec } = this;
    const config = configSchema.parse({
      replica: { id: spec.replica },
      state: { path: join(this.dir, 'state.db') },
      xmpp: {
        service: prosody.service,
        domain: prosody.domain,
        jid: spec.account.jid,
        password: spec.account.password,
        pubsubService: prosody.pubsubService,
        ...spec.xmpp,
      },
      sources: [{ name: 'mem', plugin: 'memory' }],
      sinks: [{ name: 'out', plugin: 'memory' }],
      nodes: spec.nodes ?? [],
      subscriptions: (spec.subscriptions ?? []).map((s) => ({ ...s, sink: 'out' })),
    });
    return { file: join(this.dir, 'pubsync.yaml'), config, locate: () => undefined };
  }

  async start(): Promise<void> {
    const source = this.source;
    const sink = this.sink;
    const builtins = [
      definePlugin({ kind: 'source', name: 'memory', configSchema: z.object({}), create: () => source }),
      definePlugin({ kind: 'sink', name: 'memory', configSchema: z.object({}), create: () => sink }),
    ];
    this.daemon = await composeFromConfig(this.config(), { logger: quiet, builtins });
    await this.daemon.start();
  }

  async stop(): Promise<void> {
    await this.daemon?.stop();
    this.daemon = undefined;
  }

  /** Opens the state database read-side (only while stopped, or for reads racing nothing). */
  deadLetters(): { code: string; message: string; entryId?: string | undefined; where: string }[] {
    const store = openStateStore(join(this.dir, 'state.db'));
    try {
      return store.listDeadLetters({ limit: 1000 }).map((d) => ({ code: d.code, message: d.message, entryId: d.entryId, where: d.where }));
    } finally {
      store.close();
    }
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function note(id: string, text: string, extra: Record<string, string> = {}): SourceChange {
  return {
    op: 'upsert',
    keys: [{ scheme: 'test-id', value: id }],
    type: 'note',
    fields: [
      { name: 'text', type: 'string', values: [text] },
      ...Object.entries(extra).map(([name, value]) => ({ name, type: 'string' as const, values: [value] })),
    ],
  };
}

/** Polls a condition until it holds or the deadline passes (readiness here is another process's work). */
export async function eventually(what: string, condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
