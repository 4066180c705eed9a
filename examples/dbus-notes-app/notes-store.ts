import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { StoredField } from './stored-value.js';

export interface StoredNote {
  readonly revision: number;
  readonly fields: Readonly<Record<string, StoredField>>;
}

const NOTE_SUFFIX = '.note.json';
// Note ids start with a letter or digit, so this name never clashes with a note's file.
const REVISION_FILE = '_revision';

/**
 * The app's own storage: one `<id>.note.json` per note in the data directory, each written whole
 * (temp file, then rename) so a crash leaves the old or the new note, never half of one; and the
 * last revision in `_revision`, so revisions keep counting up across restarts and deletes. All
 * notes are also held in memory: this is an example app, sized for thousands of notes.
 */
export class NotesStore {
  readonly #directory: string;
  #revision: number;
  readonly #notes: Map<string, StoredNote>;
  // Writes go one after another, so the files on disk follow the order of the changes.
  #writing: Promise<void> = Promise.resolve();

  private constructor(directory: string, revision: number, notes: Map<string, StoredNote>) {
    this.#directory = directory;
    this.#revision = revision;
    this.#notes = notes;
  }

  static async open(directory: string): Promise<NotesStore> {
    await mkdir(directory, { recursive: true });
    const notes = new Map<string, StoredNote>();
    let revision = Number((await readIfExists(join(directory, REVISION_FILE))) ?? '0');
    for (const name of await readdir(directory)) {
      if (!name.endsWith(NOTE_SUFFIX)) continue;
      const text = await readIfExists(join(directory, name));
      if (text === undefined) continue;
      const note = JSON.parse(text) as StoredNote;
      notes.set(name.slice(0, -NOTE_SUFFIX.length), note);
      revision = Math.max(revision, note.revision);
    }
    return new NotesStore(directory, revision, notes);
  }

  ids(): string[] {
    return [...this.#notes.keys()].sort();
  }

  get(id: string): StoredNote | undefined {
    return this.#notes.get(id);
  }

  async put(id: string, fields: Readonly<Record<string, StoredField>>): Promise<number> {
    const revision = ++this.#revision;
    const note = { revision, fields };
    this.#notes.set(id, note);
    await this.#queue(async () => {
      await writeAtomically(this.#notePath(id), JSON.stringify(note));
      await writeAtomically(join(this.#directory, REVISION_FILE), String(revision));
    });
    return revision;
  }

  /** False when there was no such note. */
  async delete(id: string): Promise<boolean> {
    if (!this.#notes.delete(id)) return false;
    const revision = ++this.#revision;
    await this.#queue(async () => {
      await rm(this.#notePath(id), { force: true });
      await writeAtomically(join(this.#directory, REVISION_FILE), String(revision));
    });
    return true;
  }

  #notePath(id: string): string {
    return join(this.#directory, `${id}${NOTE_SUFFIX}`);
  }

  #queue(write: () => Promise<void>): Promise<void> {
    const done = this.#writing.then(write);
    // A failed write fails its own call only; the next ones still run.
    this.#writing = done.catch(() => undefined);
    return done;
  }
}

async function writeAtomically(path: string, text: string): Promise<void> {
  const temp = `${path}.tmp`;
  await writeFile(temp, text);
  await rename(temp, path);
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
