import type { Command } from 'commander';
import { configProblemsError, loadConfig } from '../config/index.js';
import { loadConfiguredPlugins, planInstances } from '../plugin-host/index.js';
import { ErrorCodes, isSyncError } from '../errors/index.js';
import { checkStylesheets } from '../transform/check-stylesheets.js';
import { createLogger } from '../logging/logger.js';
import { ExitCode } from './exit-codes.js';
import { checkOnline } from './online-check.js';

export function registerCheckCommand(program: Command): void {
  program
    .command('check')
    .description('validate a config file and print every problem in it')
    .requiredOption('-c, --config <file>', 'the config file')
    .option('--online', 'also log in and check that every subscribed node is offered by its service')
    .option('--timeout <ms>', 'with --online: how long to wait for the XMPP server', (value) => Number(value), 10_000)
    .action(async (options: { config: string; online?: boolean; timeout: number }) => {
      process.exitCode = await check(options.config, options.online ? options.timeout : undefined);
    });
}

/** onlineTimeoutMs: check against the XMPP server too, waiting at most this long for it. */
async function check(file: string, onlineTimeoutMs: number | undefined): Promise<number> {
  try {
    const loaded = await loadConfig(file);
    // Plugins are loaded and every instance's options validated, as `pubsync run` would before starting.
    await planInstances(await loadConfiguredPlugins(loaded), loaded);
    const stylesheetProblems = await checkStylesheets(loaded);
    if (stylesheetProblems.length > 0) throw configProblemsError(file, stylesheetProblems, ErrorCodes.TRANSFORM_COMPILE_FAILED);
    if (onlineTimeoutMs !== undefined) {
      const nodeProblems = await checkOnline(loaded, createLogger({ level: 'error' }), onlineTimeoutMs);
      if (nodeProblems.length > 0) throw configProblemsError(file, nodeProblems);
    }
    const { sources, sinks, nodes, subscriptions } = loaded.config;
    process.stdout.write(
      `${file}: OK (${sources.length} sources, ${sinks.length} sinks, ${nodes.length} nodes, ${subscriptions.length} subscriptions)\n`,
    );
    return ExitCode.OK;
  } catch (error) {
    if (isSyncError(error) && error.code === ErrorCodes.XMPP_REQUEST_FAILED && error.kind === 'config') {
      process.stderr.write(`${error.message}\n`);
      return ExitCode.AUTH_REFUSED;
    }
    if (isSyncError(error) && error.kind === 'config') {
      process.stderr.write(`${error.message}\n`);
      return ExitCode.BAD_CONFIG;
    }
    if (isSyncError(error) && error.kind === 'not-connected') {
      process.stderr.write(`${error.message}\n`);
      return ExitCode.UNREACHABLE;
    }
    throw error;
  }
}
