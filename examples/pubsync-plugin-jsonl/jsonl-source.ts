import { setTimeout as sleep } from 'node:timers/promises';
import {
  ConfigError,
  ErrorCodes,
  type PluginContext,
  type Source,
  type SourceBatch,
  type SourceChange,
} from 'pubsync/plugin-api';
import { Journal, type JournalLine } from './journal.js';
import { KEY_SCHEME, changeFieldsOf, isUuidUrn } from './object-file.js';
import type { SourceOptions } from './options.js';

const DEFAULT_TYPE = 'object';

/**
 * Polls a directory: every scan appends what changed to the directory's journal, and the source
 * yields journal lines after the checkpoint. The checkpoint is the seq of the last line yielded,
 * so a restart resumes exactly after what the core committed. A first start (no checkpoint)
 * replays the whole journal, which begins with every object that existed at the first scan.
 */
export class JsonlSource implements Source {
  readonly #options: SourceOptions;
  readonly #context: PluginContext;

  constructor(options: SourceOptions, context: PluginContext) {
    this.#options = options;
    this.#context = context;
  }

  async *start(from: string | undefined, signal: AbortSignal): AsyncIterable<SourceBatch> {
    const { directory, maxBatch, pollIntervalMs } = this.#options;
    const journal = await Journal.open(directory);
    let position = this.#position(from, journal.lastSeq);
    const unreadable = (id: string): void => {
      this.#context.logger.debug({ id }, 'object file does not parse yet; skipped');
    };
    while (!signal.aborted) {
      await journal.scan(unreadable);
      const lines = journal.after(position, maxBatch);
      const last = lines.at(-1);
      if (last === undefined) {
        // Resolves early when the signal aborts; the loop condition then ends the iteration.
        await sleep(pollIntervalMs, undefined, { signal }).catch(() => undefined);
        continue;
      }
      position = last.seq;
      yield { changes: lines.map(changeOf), checkpoint: String(position) };
    }
  }

  async close(): Promise<void> {
    // Nothing is held between iterations.
  }

  #position(checkpoint: string | undefined, lastSeq: number): number {
    if (checkpoint === undefined) return 0;
    const seq = /^\d+$/.test(checkpoint) ? Number(checkpoint) : NaN;
    if (!Number.isSafeInteger(seq)) {
      const message = `checkpoint ${JSON.stringify(checkpoint)} is not a journal position`;
      throw new ConfigError(ErrorCodes.PLUGIN_FAILED, message);
    }
    if (seq > lastSeq) {
      // Resuming would silently skip changes: the journal was replaced or truncated.
      throw new ConfigError(
        ErrorCodes.PLUGIN_FAILED,
        `checkpoint ${seq} is past the end of the journal of ${this.#options.directory} (${lastSeq}): ` +
          "reset the source's checkpoint",
      );
    }
    return seq;
  }
}

function changeOf(line: JournalLine): SourceChange {
  const keys = [{ scheme: KEY_SCHEME, value: line.id }];
  if (line.op === 'delete') return { op: 'delete', keys, type: line.type ?? DEFAULT_TYPE };
  const { object } = line;
  return {
    op: 'upsert',
    keys,
    ...(isUuidUrn(object.id) ? { globalId: object.id } : {}),
    type: object.type ?? DEFAULT_TYPE,
    ...(object.title === undefined ? {} : { title: object.title }),
    fields: changeFieldsOf(object),
  };
}
