import { readFile, rm, stat } from 'node:fs/promises';
import {
  ErrorCodes,
  NotConnectedError,
  type ApplyOutcome,
  type JsonValue,
  type ObjectEntry,
  type PluginContext,
  type Sink,
  type SinkOperation,
} from 'pubsync/plugin-api';
import {
  KEY_SCHEME,
  fileValueOf,
  formatObjectFile,
  isFileId,
  objectPath,
  parseObjectFile,
  uuidOf,
  writeFileAtomically,
  type ObjectFile,
} from './object-file.js';
import type { SinkOptions } from './options.js';

/**
 * Writes one `<id>.json` per object. The file id is the local key: the one the core remembers,
 * else the object's key in a jsonl directory, else its urn:uuid; so the same entry always lands
 * in the same file, and applying it twice changes nothing (the second time is 'skipped').
 */
export class JsonlSink implements Sink {
  readonly #options: SinkOptions;
  readonly #context: PluginContext;

  constructor(options: SinkOptions, context: PluginContext) {
    this.#options = options;
    this.#context = context;
  }

  async apply(batch: readonly SinkOperation[], signal: AbortSignal): Promise<readonly ApplyOutcome[]> {
    await this.#checkDirectory();
    const outcomes: ApplyOutcome[] = [];
    for (const operation of batch) {
      // Stopping mid-batch is safe: the core retries the whole batch, and applying is idempotent.
      signal.throwIfAborted();
      outcomes.push(await this.#applyOne(operation));
    }
    return outcomes;
  }

  async close(): Promise<void> {
    // Every write is complete when apply() returns: nothing to flush.
  }

  async #applyOne({ entry, fields, localKey }: SinkOperation): Promise<ApplyOutcome> {
    const id = localKey ?? entry.keys.find((key) => key.scheme === KEY_SCHEME)?.value ?? uuidOf(entry.id);
    if (id === undefined || !isFileId(id)) {
      return rejected(`no valid file name for ${entry.id}: it needs a urn:uuid id or a ${KEY_SCHEME} key`, entry.id);
    }
    const path = objectPath(this.#options.directory, id);
    if (entry.deleted) {
      const existed = (await currentText(path)) !== undefined;
      await rm(path, { force: true });
      return existed ? { status: 'applied', localKey: id } : { status: 'skipped', reason: 'already absent' };
    }
    if (this.#options.refusedTypes.includes(entry.type)) {
      return rejected(`objects of type "${entry.type}" are refused by this sink`, entry.id);
    }
    const before = await currentText(path);
    const text = formatObjectFile(nextState(entry, fields, before === undefined ? undefined : parseObjectFile(before)));
    if (text === before) return { status: 'skipped', reason: 'unchanged' };
    await writeFileAtomically(path, text);
    this.#context.logger.debug({ id, entry: entry.id }, 'object written');
    return { status: 'applied', localKey: id };
  }

  async #checkDirectory(): Promise<void> {
    const { directory } = this.#options;
    const found = await stat(directory).catch(() => undefined);
    if (found?.isDirectory() !== true) {
      throw new NotConnectedError(ErrorCodes.PLUGIN_FAILED, `directory ${directory} does not exist`);
    }
  }
}

/** The file after applying: the listed fields from the entry, the others as they were. */
function nextState(entry: ObjectEntry, changed: readonly string[], current: ObjectFile | undefined): ObjectFile {
  const fields: Record<string, JsonValue> = { ...current?.fields };
  // A field the sink has not written before is written whole; one listed but absent was removed.
  const names = current === undefined ? entry.fields.map((field) => field.name) : changed;
  for (const name of names) {
    const field = entry.fields.find((candidate) => candidate.name === name);
    if (field === undefined) delete fields[name];
    else fields[name] = fileValueOf(field);
  }
  return { id: entry.id, type: entry.type, ...(entry.title === undefined ? {} : { title: entry.title }), fields };
}

async function currentText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function rejected(reason: string, entryId: string): ApplyOutcome {
  return { status: 'rejected', code: ErrorCodes.SINK_REJECTED, reason, details: { entryId } };
}
