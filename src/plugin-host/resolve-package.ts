import { readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

/**
 * Package resolution with the semantics of an ESM import (what import.meta.resolve does from the
 * config file's directory): node_modules from that directory upward, `exports` matched with the
 * conditions `node`, `import`, `default`, else `main` or index.js. Node 20 cannot resolve an
 * import from another directory without a flag, and createRequire().resolve would pick a
 * package's `require` entry (or fail on an import-only one), hence this small reimplementation.
 */

export type Resolution = { readonly ok: true; readonly file: string } | { readonly ok: false; readonly reason: string };

const PACKAGE_SPECIFIER = /^((?:@[^/@]+\/)?[^/@.][^/@]*)(\/.+)?$/;
const CONDITIONS = new Set(['node', 'import', 'default']);

interface Manifest {
  readonly exports?: unknown;
  readonly main?: unknown;
}

export function resolvePackage(specifier: string, fromDir: string): Resolution {
  const match = PACKAGE_SPECIFIER.exec(specifier);
  if (match === null) return { ok: false, reason: `"${specifier}" is neither a path nor a package name` };
  const name = match[1] ?? specifier;
  const subpath = `.${match[2] ?? ''}`;
  for (const modules of nodeModulesDirs(fromDir)) {
    const root = join(modules, name);
    const manifest = readManifest(root);
    if (manifest !== undefined) return resolvePackageEntry(root, subpath, manifest);
  }
  return { ok: false, reason: `there is no node_modules/${name} in ${resolve(fromDir)} or any directory above it` };
}

/** The file `subpath` ('.' for the main entry) of the package in directory `root`. */
export function resolvePackageEntry(root: string, subpath = '.', manifest = readManifest(root) ?? {}): Resolution {
  const file =
    manifest.exports === undefined
      ? legacyEntry(root, manifest, subpath)
      : exportsEntry(root, manifest.exports, subpath);
  if (file !== undefined) return { ok: true, file };
  const what = subpath === '.' ? 'a main entry' : `"${subpath}"`;
  return { ok: false, reason: `the package in ${root} has no ${what} for import (check its "exports" or "main")` };
}

function nodeModulesDirs(from: string): string[] {
  const dirs: string[] = [];
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    if (basename(dir) !== 'node_modules') dirs.push(join(dir, 'node_modules'));
    if (dirname(dir) === dir) return dirs;
  }
}

/** undefined when there is no package directory; a broken package.json throws (it is not "not found"). */
function readManifest(root: string): Manifest | undefined {
  if (!isDirectory(root)) return undefined;
  let text: string;
  try {
    text = readFileSync(join(root, 'package.json'), 'utf8');
  } catch {
    return {};
  }
  try {
    return JSON.parse(text) as Manifest;
  } catch (error) {
    throw new Error(`${join(root, 'package.json')} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
}

function legacyEntry(root: string, manifest: Manifest, subpath: string): string | undefined {
  if (subpath !== '.') return join(root, subpath);
  const main = typeof manifest.main === 'string' ? manifest.main : undefined;
  const candidates = main === undefined ? [] : [main, `${main}.js`, join(main, 'index.js')];
  return [...candidates, 'index.js'].map((candidate) => join(root, candidate)).find(isFile);
}

function exportsEntry(root: string, exports: unknown, subpath: string): string | undefined {
  const map = isSubpathMap(exports) ? exports : { '.': exports };
  if (Object.hasOwn(map, subpath)) return exportTarget(root, map[subpath], '');
  // Subpath patterns ("./plugins/*"): the longest matching prefix wins, as in Node.
  let best: { key: string; star: string } | undefined;
  for (const key of Object.keys(map)) {
    const [prefix, suffix, extra] = key.split('*');
    if (prefix === undefined || suffix === undefined || extra !== undefined) continue;
    if (subpath.length < key.length - 1 || !subpath.startsWith(prefix) || !subpath.endsWith(suffix)) continue;
    if (best === undefined || prefix.length > best.key.indexOf('*')) {
      best = { key, star: subpath.slice(prefix.length, subpath.length - suffix.length) };
    }
  }
  return best === undefined ? undefined : exportTarget(root, map[best.key], best.star);
}

function exportTarget(root: string, target: unknown, star: string): string | undefined {
  if (typeof target === 'string') return target.startsWith('./') ? join(root, target.replaceAll('*', star)) : undefined;
  if (Array.isArray(target)) {
    for (const item of target) {
      const found = exportTarget(root, item, star);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (target !== null && typeof target === 'object') {
    // Conditions are tried in the package's order, not ours.
    for (const [condition, value] of Object.entries(target)) {
      if (!CONDITIONS.has(condition)) continue;
      const found = exportTarget(root, value, star);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

function isSubpathMap(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  return Object.keys(value).some((key) => key.startsWith('.'));
}

export function isFile(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;
}

export function isDirectory(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
}
