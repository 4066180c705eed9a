import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isDirectory, isFile, resolvePackage, resolvePackageEntry } from './resolve-package.js';

export type ModuleResolution =
  | { readonly ok: true; readonly url: string; readonly via: 'absolute path' | 'relative path' | 'package' }
  | { readonly ok: false; readonly reason: string };

const RELATIVE = /^\.\.?(?:[/\\]|$)/;

/**
 * Where a `plugins:` entry points, in Prettier's order: an absolute path; a path relative to the
 * config file's directory (written ./ or ../, or a bare name that is a file there); else a
 * package in node_modules from the config file's directory upward. Never relative to the
 * working directory: a config loads the same plugins wherever the daemon is started from.
 *
 * A path is not checked for existence here: import() reports a missing file itself, and the
 * loader tells that apart from a module that exists but fails.
 */
export function resolvePluginModule(specifier: string, configDir: string): ModuleResolution {
  if (isAbsolute(specifier)) return fromPath(specifier, 'absolute path');
  if (RELATIVE.test(specifier)) return fromPath(resolve(configDir, specifier), 'relative path');
  const local = resolve(configDir, specifier);
  if (isFile(local)) return { ok: true, url: pathToFileURL(local).href, via: 'relative path' };
  const found = resolvePackage(specifier, configDir);
  return found.ok ? { ok: true, url: pathToFileURL(found.file).href, via: 'package' } : found;
}

function fromPath(path: string, via: 'absolute path' | 'relative path'): ModuleResolution {
  // A directory is a package on disk (a checkout, an unpacked tarball): its package.json says what to load.
  if (isDirectory(path)) {
    const entry = resolvePackageEntry(path);
    return entry.ok ? { ok: true, url: pathToFileURL(entry.file).href, via } : entry;
  }
  return { ok: true, url: pathToFileURL(path).href, via };
}
