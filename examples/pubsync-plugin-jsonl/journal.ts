import { createHash } from 'node:crypto';
import { appendFile, readFile, readdir, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { NotConnectedError, ErrorCodes } from 'pubsync/plugin-api';
import { idOfFileName, objectPath, parseObjectFile, type ObjectFile } from './object-file.js';

/** Kept in the watched directory; a dotfile, so scans skip it. */
export const JOURNAL_FILE = '.pubsync-journal.jsonl';

/** One detected change. `seq` counts from 1 without gaps: the source's checkpoint is a seq. */
export type JournalLine =
  | {
      readonly seq: number;
      readonly op: 'upsert';
      readonly id: string;
      readonly hash: string;
      readonly object: ObjectFile;
    }
  | { readonly seq: number; readonly op: 'delete'; readonly id: string; readonly type?: string };

/**
 * The change log of a directory. Plain files have no change feed, so the source makes one: each
 * scan compares the files with what the journal last recorded (by content hash) and appends a
 * line per difference. Upserts carry the object as read, so replaying the journal yields each
 * state exactly as detected, whatever the files hold now.
 *
 * Honest limits: one source per directory (two would both append); changes between two scans
 * coalesce into one; the journal grows without bound.
 */
export class Journal {
  readonly #directory: string;
  readonly #lines: JournalLine[];
  /** What the journal says each live object looks like: id to content hash and type. */
  readonly #live = new Map<string, { hash: string; type: string | undefined }>();

  private constructor(directory: string, lines: JournalLine[]) {
    this.#directory = directory;
    this.#lines = lines;
    for (const line of lines) this.#record(line);
  }

  /** Reads the journal of `directory` (empty if there is none yet). */
  static async open(directory: string): Promise<Journal> {
    await listDirectory(directory);
    const path = join(directory, JOURNAL_FILE);
    let text = '';
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    // A crash mid-append leaves a partial last line: drop it before appending after it.
    const complete = text.lastIndexOf('\n') + 1;
    if (complete < text.length) await truncate(path, Buffer.byteLength(text.slice(0, complete)));
    const lines = text
      .slice(0, complete)
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => JSON.parse(line) as JournalLine);
    return new Journal(directory, lines);
  }

  get lastSeq(): number {
    return this.#lines.at(-1)?.seq ?? 0;
  }

  /** Lines after `seq`, at most `limit`. */
  after(seq: number, limit: number): JournalLine[] {
    // Seqs are dense from 1, so line n sits at index n - 1.
    return this.#lines.slice(seq, seq + limit);
  }

  /**
   * Compares the directory with the journal and appends what changed. Files that do not parse
   * (yet) are left for the next scan and reported through `unreadable`.
   */
  async scan(unreadable: (id: string) => void = () => undefined): Promise<number> {
    const names = (await listDirectory(this.#directory)).sort();
    const found = new Set<string>();
    const added: JournalLine[] = [];
    let seq = this.lastSeq;
    for (const name of names) {
      const id = idOfFileName(name);
      if (id === undefined) continue;
      let text: string;
      try {
        text = await readFile(objectPath(this.#directory, id), 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue; // deleted since readdir
        throw error;
      }
      found.add(id);
      const hash = createHash('sha256').update(text).digest('hex');
      if (this.#live.get(id)?.hash === hash) continue;
      const object = parseObjectFile(text);
      if (object === undefined) {
        unreadable(id);
        // Unchanged as far as the journal knows: not deleted either.
        continue;
      }
      added.push({ seq: ++seq, op: 'upsert', id, hash, object });
    }
    for (const [id, { type }] of this.#live) {
      if (!found.has(id)) added.push({ seq: ++seq, op: 'delete', id, ...(type === undefined ? {} : { type }) });
    }
    if (added.length === 0) return 0;
    // Written before any of these seqs is yielded: a checkpoint must never point past the end of the file.
    await appendFile(join(this.#directory, JOURNAL_FILE), added.map((line) => `${JSON.stringify(line)}\n`).join(''));
    for (const line of added) {
      this.#lines.push(line);
      this.#record(line);
    }
    return added.length;
  }

  #record(line: JournalLine): void {
    if (line.op === 'upsert') this.#live.set(line.id, { hash: line.hash, type: line.object.type });
    else this.#live.delete(line.id);
  }
}

async function listDirectory(directory: string): Promise<string[]> {
  try {
    return await readdir(directory);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // The directory may be a mount that is not there yet: the host retries, as for a server that is down.
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new NotConnectedError(ErrorCodes.PLUGIN_FAILED, `directory ${directory} does not exist`, { cause: error });
    }
    throw error;
  }
}
