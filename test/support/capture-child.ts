/**
 * A child process for the crash test: captures a deterministic stream of changes into a real
 * state database. With CRASH_AT_BATCH=k it SIGKILLs itself inside the k-th commit, after the log
 * append and before the transaction commits, the worst moment for a capture.
 */
import { pino } from 'pino';
import { CsnClock, serializeEntry } from '../../src/format/index.js';
import { Capture } from '../../src/pipeline/capture.js';
import { Router } from '../../src/pipeline/router.js';
import { runSource } from '../../src/pipeline/source-runner.js';
import type { Source, SourceBatch, UpsertChange } from '../../src/plugin-api/index.js';
import { openStateStore } from '../../src/state/index.js';

const [dbPath, totalText] = process.argv.slice(2);
const total = Number(totalText);
const crashAt = process.env['CRASH_AT_BATCH'] === undefined ? undefined : Number(process.env['CRASH_AT_BATCH']);

/** Change i sets field v of object k<i % 10> to i: every change is visible and in order. */
export function changeAt(i: number): UpsertChange {
  return { op: 'upsert', keys: [{ scheme: 'test-id', value: `k${i % 10}` }], type: 'note', fields: [{ name: 'v', type: 'integer', values: [BigInt(i)] }] };
}

const source: Source = {
  async *start(from: string | undefined): AsyncIterable<SourceBatch> {
    for (let next = Number(from ?? 0); next < total; ) {
      const end = Math.min(total, next + 7);
      yield { changes: Array.from({ length: end - next }, (_, j) => changeAt(next + j)), checkpoint: String(end) };
      next = end;
    }
  },
};

const store = openStateStore(dbPath!);
let commits = 0;
const setCheckpoint = store.setCheckpoint.bind(store);
store.setCheckpoint = (name, checkpoint) => {
  if (++commits === crashAt) process.kill(process.pid, 'SIGKILL');
  setCheckpoint(name, checkpoint);
};
const logger = pino({ level: 'silent' });
const capture = new Capture({
  store,
  clock: new CsnClock({ replica: 1 }),
  router: new Router([{ name: 'all', access: 'whitelist', members: [], publishers: [], maxItems: 256, persistItems: true, route: {} }]),
  origin: { jid: 'a@localhost', replica: 1 },
  serialize: serializeEntry,
  inlineAttachmentBytes: 1024,
  logger,
});
await runSource({ name: 'app', source, capture, store, logger, signal: new AbortController().signal });
store.close();
