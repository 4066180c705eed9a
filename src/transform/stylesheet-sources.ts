import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * A stylesheet and the modules it imports or includes, read from disk. Its key (a SHA-256 of
 * every module's text and of the compiler version) names the compiled SEF in the cache, so an
 * edit to any imported module compiles afresh and an unchanged set never compiles twice.
 */
export interface StylesheetSources {
  /** Absolute path of the principal module. */
  readonly path: string;
  /** Absolute paths of every module found, the principal first. */
  readonly modules: readonly string[];
  readonly key: string;
}

/** Bounds the import graph: a cycle or a runaway tree of includes stops here. */
const MAX_MODULES = 200;

// xsl:import / xsl:include with an href, whatever the prefix. Found by text, not by parsing: a
// miss only means that module's edits do not change the key, never that it goes unchecked.
const IMPORT = /<(?:[A-Za-z_][\w.-]*:)?(?:import|include)\b[^>]*?\bhref\s*=\s*(?:"([^"]*)"|'([^']*)')/g;

export async function readStylesheetSources(path: string, compilerVersion: string): Promise<StylesheetSources> {
  const principal = resolve(path);
  const hash = createHash('sha256').update(`${compilerVersion}\0`);
  const modules: string[] = [];
  const seen = new Set<string>();
  const pending = [principal];
  while (pending.length > 0 && modules.length < MAX_MODULES) {
    const file = pending.shift() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      // The principal must exist; a missing import is the compiler's to report, with its line.
      if (file === principal) throw error;
      hash.update(`${file}\0(missing)\0`);
      continue;
    }
    modules.push(file);
    hash.update(`${file === principal ? '' : file}\0${text}\0`);
    for (const match of text.matchAll(IMPORT)) {
      const href = match[1] ?? match[2] ?? '';
      const target = resolveHref(href, file);
      if (target !== undefined) pending.push(target);
    }
  }
  return { path: principal, modules, key: hash.digest('hex') };
}

function resolveHref(href: string, from: string): string | undefined {
  if (href === '') return undefined;
  if (href.startsWith('file:')) return fileURLToPath(href);
  if (/^[a-z][a-z0-9+.-]*:/i.test(href)) return undefined;
  return resolve(dirname(from), decodeURIComponent(href));
}
