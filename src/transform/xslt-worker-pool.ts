import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { ErrorCodes } from '../errors/codes.js';
import { TransientError } from '../errors/sync-error.js';
import type { CompiledStylesheet } from './sef-compiler.js';
import { WORKER_SOURCE } from './worker-source.js';

export type XsltParams = Readonly<Record<string, string | number | boolean>>;

export interface XsltWorkerPoolOptions {
  /** Worker threads. Default 1. */
  readonly size?: number;
  /** A transform running longer than this is stopped (its worker terminated and replaced). Default 5,000 ms. */
  readonly timeoutMs?: number;
  /** Old-generation heap limit of each worker; a transform that exceeds it fails and the worker is replaced. Default 256 MB. */
  readonly maxMemoryMb?: number;
  /** Jobs waiting for a worker beyond this are refused (transient). Default 1,000. */
  readonly maxQueue?: number;
}

/** What a transform produced, or the XSLT error it failed with. */
export type XsltRunResult =
  | { readonly ok: true; readonly output: string; readonly messages: readonly string[] }
  | { readonly ok: false; readonly error: XsltRunError; readonly messages: readonly string[] };

export interface XsltRunError {
  /** The XSLT error code (FOAR0001, XTMM9000, Q{urn:x}E42...), or TIMEOUT, OUT_OF_MEMORY, STACK_OVERFLOW, WORKER_EXIT. */
  readonly code: string;
  readonly message: string;
  readonly line?: number;
  readonly module?: string;
}

interface Job {
  readonly id: number;
  readonly stylesheet: CompiledStylesheet;
  readonly source: string;
  readonly params: XsltParams;
  readonly signal: AbortSignal | undefined;
  readonly resolve: (result: XsltRunResult) => void;
  readonly reject: (error: unknown) => void;
}

interface Slot {
  worker: Worker;
  /** Loaded SaxonJS and locked down: the job's time limit runs from here, not from the spawn. */
  ready: boolean;
  /** Stylesheet keys this worker has parsed (it may have dropped some: it then asks again). */
  readonly loaded: Set<string>;
  job?: Job;
  timer?: NodeJS.Timeout;
  onAbort?: () => void;
}

const require = createRequire(import.meta.url);
const SAXON_PATH = require.resolve('saxon-js');
/** Loading SaxonJS takes ~150 ms on an idle machine; this only catches a worker that never starts. */
const WORKER_START_LIMIT_MS = 60_000;

/**
 * A pool of worker threads that run compiled stylesheets. SaxonJS has no timeout and an endless
 * loop blocks its thread for good, so each job runs in a worker that is terminated when the time
 * limit passes and replaced by a fresh one; the heap limit (resourceLimits) bounds memory the
 * same way. Workers are started lazily and each parses a SEF once, on first use.
 */
export class XsltWorkerPool {
  readonly timeoutMs: number;
  readonly maxMemoryMb: number;
  readonly #size: number;
  readonly #maxQueue: number;
  readonly #slots: Slot[] = [];
  readonly #queue: Job[] = [];
  #nextId = 1;
  #closed = false;

  constructor(options: XsltWorkerPoolOptions = {}) {
    this.#size = Math.max(1, options.size ?? 1);
    this.timeoutMs = options.timeoutMs ?? 5_000;
    this.maxMemoryMb = options.maxMemoryMb ?? 256;
    this.#maxQueue = options.maxQueue ?? 1_000;
  }

  /** Runs `stylesheet` on `source` (an XML document). XSLT failures resolve as { ok: false }; it rejects only when closed, aborted or overloaded. */
  run(stylesheet: CompiledStylesheet, source: string, params: XsltParams = {}, signal?: AbortSignal): Promise<XsltRunResult> {
    if (this.#closed) return Promise.reject(shutdown());
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#queue.length >= this.#maxQueue) {
      return Promise.reject(
        new TransientError(ErrorCodes.TRANSFORM_FAILED, `more than ${this.#maxQueue} transforms waiting for a worker`, { retryAfterMs: 100 }),
      );
    }
    return new Promise((resolve, reject) => {
      this.#queue.push({ id: this.#nextId++, stylesheet, source, params, signal, resolve, reject });
      this.#dispatch();
    });
  }

  /** Terminates every worker; queued and running jobs are rejected. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const job of this.#queue.splice(0)) job.reject(shutdown());
    const slots = this.#slots.splice(0);
    for (const slot of slots) this.#finish(slot)?.reject(shutdown());
    await Promise.all(slots.map((slot) => slot.worker.terminate()));
  }

  #dispatch(): void {
    while (this.#queue.length > 0) {
      let slot = this.#slots.find((candidate) => candidate.job === undefined);
      if (slot === undefined && this.#slots.length < this.#size) {
        slot = this.#spawn();
        this.#slots.push(slot);
      }
      if (slot === undefined) return;
      const job = this.#queue.shift() as Job;
      if (job.signal?.aborted) {
        job.reject(job.signal.reason);
        continue;
      }
      this.#start(slot, job);
    }
  }

  #spawn(): Slot {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { saxonPath: SAXON_PATH },
      // The worker needs nothing of the daemon's environment (and must not see its secrets).
      env: {},
      stdout: false,
      stderr: false,
      resourceLimits: { maxOldGenerationSizeMb: this.maxMemoryMb, stackSizeMb: 4 },
    });
    const slot: Slot = { worker, ready: false, loaded: new Set() };
    worker.on('message', (message: WorkerReply) => this.#onMessage(slot, message));
    worker.on('error', (error: Error & { code?: string }) => {
      const code = error.code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'OUT_OF_MEMORY' : 'WORKER_EXIT';
      const message =
        code === 'OUT_OF_MEMORY' ? `the transform exceeded the memory limit of ${this.maxMemoryMb} MB` : `the transform worker failed: ${error.message}`;
      this.#replace(slot, { code, message });
    });
    worker.on('exit', () => this.#replace(slot, { code: 'WORKER_EXIT', message: 'the transform worker exited' }));
    // An idle worker must not keep the process alive.
    worker.unref();
    return slot;
  }

  #start(slot: Slot, job: Job): void {
    slot.job = job;
    this.#arm(slot);
    if (job.signal) {
      slot.onAbort = () => {
        const aborted = this.#finish(slot);
        aborted?.reject(job.signal?.reason);
        this.#discard(slot);
      };
      job.signal.addEventListener('abort', slot.onAbort, { once: true });
    }
    this.#post(slot, job);
  }

  /** Starts the job's time limit, or, while the worker is still starting, a limit on the start. */
  #arm(slot: Slot): void {
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = slot.ready
      ? setTimeout(() => {
          this.#replace(slot, { code: 'TIMEOUT', message: `the transform took longer than ${this.timeoutMs} ms and was stopped` });
        }, this.timeoutMs)
      : setTimeout(() => {
          this.#replace(slot, { code: 'WORKER_EXIT', message: `the transform worker did not start within ${WORKER_START_LIMIT_MS} ms` });
        }, WORKER_START_LIMIT_MS);
  }

  #post(slot: Slot, job: Job): void {
    const { key, sef } = job.stylesheet;
    const first = !slot.loaded.has(key);
    slot.loaded.add(key);
    slot.worker.postMessage({ id: job.id, key, source: job.source, params: job.params, ...(first ? { sef } : {}) });
  }

  #onMessage(slot: Slot, reply: WorkerReply): void {
    if ('ready' in reply) {
      slot.ready = true;
      if (slot.job) this.#arm(slot);
      return;
    }
    const job = slot.job;
    if (job === undefined || reply.id !== job.id) return;
    if ('missing' in reply) {
      slot.loaded.delete(job.stylesheet.key);
      this.#post(slot, job);
      return;
    }
    this.#finish(slot);
    if ('error' in reply) job.resolve({ ok: false, error: reply.error, messages: reply.messages });
    else job.resolve({ ok: true, output: reply.output, messages: reply.messages });
    this.#dispatch();
  }

  /** Clears the slot's running job and returns it. */
  #finish(slot: Slot): Job | undefined {
    const job = slot.job;
    if (slot.timer) clearTimeout(slot.timer);
    if (job?.signal && slot.onAbort) job.signal.removeEventListener('abort', slot.onAbort);
    slot.job = undefined;
    slot.timer = undefined;
    slot.onAbort = undefined;
    return job;
  }

  /** The worker is stuck, out of memory or gone: its job fails with `error`, a fresh worker takes its place. */
  #replace(slot: Slot, error: XsltRunError): void {
    const job = this.#finish(slot);
    job?.resolve({ ok: false, error, messages: [] });
    this.#discard(slot);
  }

  #discard(slot: Slot): void {
    const index = this.#slots.indexOf(slot);
    if (index === -1) return;
    this.#slots.splice(index, 1);
    slot.worker.removeAllListeners();
    // A late 'error' from a discarded worker must not become an uncaught exception.
    slot.worker.on('error', () => undefined);
    // terminate() is the only way to stop a thread stuck in a loop; its promise only reports the exit code.
    slot.worker.terminate().catch(() => undefined);
    if (!this.#closed) this.#dispatch();
  }
}

type WorkerReply =
  | { readonly ready: true }
  | { readonly id: number; readonly missing: true }
  | { readonly id: number; readonly output: string; readonly messages: readonly string[] }
  | { readonly id: number; readonly error: XsltRunError; readonly messages: readonly string[] };

function shutdown(): TransientError {
  return new TransientError(ErrorCodes.SHUTDOWN, 'the transform pool is closed');
}
