import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { NodeConfig } from '../../src/config/schema.js';
import { CsnClock, parseEntry, parseFeed, serializeEntry, serializeFeed } from '../../src/format/index.js';
import type { Batch } from '../../src/format/model.js';
import { Capture } from '../../src/pipeline/capture.js';
import { Router } from '../../src/pipeline/router.js';
import type { SinkWrites } from '../../src/pipeline/sink-writes.js';
import { openStateStore, type SqliteStateStore } from '../../src/state/index.js';

export const silentLogger = pino({ level: 'silent' });

/** A node that takes everything, for tests that are not about routing. */
export function allNode(name = 'all'): NodeConfig {
  return { name, access: 'whitelist', members: [], publishers: [], maxItems: 256, persistItems: true, route: {} };
}

/** A real SQLite store in a temp dir, and a capture stage over it. */
export function capturePipeline(
  options: {
    replica?: number;
    jid?: string;
    nodes?: NodeConfig[];
    now?: () => number;
    linkedSinks?: ReadonlyMap<string, string>;
    /** Per linked source, its sink's writes (made over the store, as the daemon does). */
    writes?: (store: SqliteStateStore) => ReadonlyMap<string, SinkWrites>;
  } = {},
) {
  const dir = mkdtempSync(join(tmpdir(), 'pubsync-pipeline-'));
  const store: SqliteStateStore = openStateStore(join(dir, 'state.db'));
  const origin = { jid: options.jid ?? 'a@localhost', replica: options.replica ?? 1 };
  const writes = options.writes?.(store);
  const clock = new CsnClock({ replica: origin.replica, ...(options.now ? { now: options.now } : {}) });
  const capture = new Capture({
    store,
    clock,
    router: new Router(options.nodes ?? [allNode()]),
    origin,
    serialize: serializeEntry,
    inlineAttachmentBytes: 1024,
    ...(options.linkedSinks ? { linkedSinks: options.linkedSinks } : {}),
    ...(writes ? { writes } : {}),
    logger: silentLogger,
  });
  return {
    dir,
    store,
    clock,
    capture,
    origin,
    writes,
    /** What a peer would receive: the outbound log as one feed, through the wire format and back. */
    feed(afterSeq = 0n): Batch {
      const records = store.readOutbound(afterSeq, 100_000);
      const entries = records.map((record) => parseEntry(record.payload));
      const batch: Batch = {
        origin,
        firstSeq: records[0]?.seq ?? afterSeq,
        lastSeq: records.at(-1)?.seq ?? afterSeq,
        entries,
      };
      return parseFeed(serializeFeed(batch));
    },
    close(): void {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
