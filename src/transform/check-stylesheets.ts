import { dirname, resolve } from 'node:path';
import { formatPath, type ConfigProblem, type LoadedConfig } from '../config/index.js';
import { isSyncError } from '../errors/sync-error.js';
import { SefCompiler } from './sef-compiler.js';

/** A subscription's stylesheet path: relative paths resolve against the config file's folder. */
export function resolveStylesheet(configFile: string, stylesheet: string): string {
  return resolve(dirname(configFile), stylesheet);
}

/**
 * Compiles every subscription's stylesheet (through the SEF cache, so a later start does not
 * compile again) and returns one config problem per stylesheet that does not compile or that the
 * sandbox refuses, at `subscriptions[i].transform.stylesheet`, with the XSLT line and column in the
 * message.
 */
export async function checkStylesheets(loaded: LoadedConfig, compiler = new SefCompiler()): Promise<ConfigProblem[]> {
  const problems: ConfigProblem[] = [];
  const subscriptions = loaded.config.subscriptions;
  for (let i = 0; i < subscriptions.length; i++) {
    const transform = subscriptions[i]?.transform;
    if (transform === undefined) continue;
    const path = ['subscriptions', i, 'transform', 'stylesheet'];
    try {
      await compiler.compile(resolveStylesheet(loaded.file, transform.stylesheet));
    } catch (error) {
      if (!isSyncError(error) || error.kind !== 'config') throw error;
      problems.push({
        file: loaded.file,
        path: formatPath(path),
        message: error.message,
        ...loaded.locate(path),
      });
    }
  }
  return problems;
}
