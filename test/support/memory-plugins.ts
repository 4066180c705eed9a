import { ABSENT_PART, partHash, type ApplyOutcome, type Sink, type SinkOperation, type Source, type SourceBatch, type SourceChange } from '../../src/plugin-api/index.js';

/**
 * Test-only source and sink over plain arrays and maps. They stand in for an application in the
 * pipeline's own tests, never for a real adapter: the adapters are tested against real servers.
 */
export class MemorySource implements Source {
  /** The application's change history; the checkpoint is the index of the next change. */
  readonly history: SourceChange[] = [];
  /** Fail once when this index is reached, to exercise restarts. */
  failAt: number | undefined;
  batchSize = 2;
  starts: (string | undefined)[] = [];
  #wake: (() => void) | undefined;

  add(...changes: SourceChange[]): void {
    this.history.push(...changes);
    this.#wake?.();
  }

  async *start(from: string | undefined, signal: AbortSignal): AsyncIterable<SourceBatch> {
    this.starts.push(from);
    let next = from === undefined ? 0 : Number(from);
    while (!signal.aborted) {
      if (next >= this.history.length) {
        await new Promise<void>((resolve) => {
          const onAbort = (): void => resolve();
          // One listener per wait, removed on wake: a busy feed must not pile them up on the signal.
          this.#wake = () => {
            signal.removeEventListener('abort', onAbort);
            resolve();
          };
          signal.addEventListener('abort', onAbort, { once: true });
        });
        continue;
      }
      if (this.failAt !== undefined && next >= this.failAt) {
        this.failAt = undefined;
        throw new Error('application went away');
      }
      const end = Math.min(this.history.length, next + this.batchSize);
      yield { changes: this.history.slice(next, end), checkpoint: String(end) };
      next = end;
    }
  }
}

export interface StoredObject {
  readonly type: string;
  /** Field values as the sink holds them: only the fields an operation names are written. */
  readonly fields: Record<string, readonly unknown[]>;
  readonly writes: number;
}

export class MemorySink implements Sink {
  readonly objects = new Map<string, StoredObject>();
  readonly calls: SinkOperation[][] = [];
  /** Objects of this type are refused, as a validation function would refuse them. */
  refusedType = 'refused';
  /** Makes the next apply() calls throw, as a server that is down would. */
  failures = 0;
  /** While set, apply() waits for it: lets a test hold the sink to see backpressure. */
  gate: Promise<void> | undefined;
  /**
   * When set, the sink and this source are one application: every write, the core's and the
   * application's own (write/remove), shows in its change feed, as a real application's would.
   */
  feed: MemorySource | undefined;

  /** The application changes an object itself (not through the core): its feed reports it. */
  write(localKey: string, globalId: string, type: string, fields: Record<string, readonly string[]>): void {
    const before = this.objects.get(localKey);
    this.objects.set(localKey, { type, fields: { ...before?.fields, ...fields }, writes: (before?.writes ?? 0) + 1 });
    this.#report(localKey, globalId, type);
  }

  /** The application deletes an object itself; its feed reports it. */
  remove(localKey: string, globalId: string, type: string): void {
    this.objects.delete(localKey);
    this.#report(localKey, globalId, type);
  }

  #report(localKey: string, globalId: string, type: string): void {
    if (!this.feed) return;
    const keys = [{ scheme: 'test-id', value: localKey }];
    const object = this.objects.get(localKey);
    if (!object) {
      this.feed.add({ op: 'delete', keys, globalId, type });
      return;
    }
    const fields = Object.entries(object.fields).map(([name, values]) => ({ name, type: 'string' as const, values: values.map(String) }));
    this.feed.add({ op: 'upsert', keys, globalId, type: object.type, fields });
  }

  async apply(batch: readonly SinkOperation[]): Promise<readonly ApplyOutcome[]> {
    await this.gate;
    if (this.failures > 0) {
      this.failures--;
      throw new Error('sink unavailable');
    }
    this.calls.push([...batch]);
    return batch.map((operation): ApplyOutcome => {
      const { entry } = operation;
      if (entry.type === this.refusedType) {
        return { status: 'rejected', code: 'TEST_REFUSED', reason: `type ${entry.type} is refused` };
      }
      const localKey = operation.localKey ?? entry.keys[0]?.value ?? entry.id;
      const held = this.objects.get(localKey);
      if (entry.deleted && held && operation.expected && holdsMoreThan(held.fields, operation.expected)) {
        // Changed since the core last saw it: only what the core saw goes (the change, once captured, is newer).
        const kept = Object.entries(held.fields).filter(([name, values]) => hashOf(name, values) !== (operation.expected?.[name] ?? ABSENT_PART));
        this.objects.set(localKey, { ...held, fields: Object.fromEntries(kept), writes: held.writes + 1 });
        this.#report(localKey, entry.id, held.type);
        return { status: 'applied', localKey, left: kept.map(([name]) => name) };
      }
      if (entry.deleted && !held) return { status: 'skipped', reason: 'already deleted' };
      if (entry.deleted) {
        this.objects.delete(localKey);
        this.#report(localKey, entry.id, entry.type);
        return { status: 'applied', localKey };
      }
      const before = this.objects.get(localKey);
      // Deleted by the application since the core saw it with content: that delete wins once captured.
      if (!before && Object.values(operation.expected ?? {}).some((hash) => hash !== ABSENT_PART)) {
        return { status: 'skipped', reason: 'deleted since the core last saw it' };
      }
      const fields = { ...before?.fields };
      // A field the application changed since the core last saw it is left (optimistic concurrency).
      const changedSince = (name: string): boolean => {
        const expected = operation.expected?.[name];
        if (expected === undefined) return false;
        const held = fields[name];
        const hash = held && held.length > 0 ? partHash({ name, type: 'string', values: held.map(String) }) : ABSENT_PART;
        return hash !== expected;
      };
      const written = operation.fields.filter((name) => !changedSince(name));
      // A named field the entry does not carry, or carries empty, is removed.
      for (const name of written) delete fields[name];
      for (const field of entry.fields) {
        if (written.includes(field.name) && field.values.length > 0) fields[field.name] = field.values;
      }
      const type = operation.removeOnly && before ? before.type : entry.type;
      this.objects.set(localKey, { type, fields, writes: (before?.writes ?? 0) + 1 });
      this.#report(localKey, entry.id, entry.type);
      const left = operation.fields.filter((name) => !written.includes(name));
      return { status: 'applied', localKey, ...(left.length > 0 ? { left } : {}) };
    });
  }
}

/** Whether an object holds anything but what the core expected (SinkOperation.expected of a delete). */
function holdsMoreThan(fields: Readonly<Record<string, readonly unknown[]>>, expected: Readonly<Record<string, string>>): boolean {
  return Object.entries(fields).some(([name, values]) => hashOf(name, values) !== (expected[name] ?? ABSENT_PART));
}

function hashOf(name: string, values: readonly unknown[]): string {
  return values.length > 0 ? partHash({ name, type: 'string', values: values.map(String) }) : ABSENT_PART;
}
