import type { Command } from 'commander';
import { configProblemsError, loadConfig } from '../config/index.js';
import { loadConfiguredPlugins, planInstances } from '../plugin-host/index.js';
import { ErrorCodes, isSyncError } from '../errors/index.js';
import { checkStylesheets } from '../transform/check-stylesheets.js';
import { ExitCode } from './exit-codes.js';

export function registerCheckCommand(program: Command): void {
  program
    .command('check')
    .description('validate a config file and print every problem in it')
    .requiredOption('-c, --config <file>', 'the config file')
    .action(async (options: { config: string }) => {
      process.exitCode = await check(options.config);
    });
}

async function check(file: string): Promise<number> {
  try {
    const loaded = await loadConfig(file);
    // Plugins are loaded and every instance's options validated, as `pubsync run` would before starting.
    await planInstances(await loadConfiguredPlugins(loaded), loaded);
    const stylesheetProblems = await checkStylesheets(loaded);
    if (stylesheetProblems.length > 0) throw configProblemsError(file, stylesheetProblems, ErrorCodes.TRANSFORM_COMPILE_FAILED);
    const { sources, sinks, nodes, subscriptions } = loaded.config;
    process.stdout.write(
      `${file}: OK (${sources.length} sources, ${sinks.length} sinks, ${nodes.length} nodes, ${subscriptions.length} subscriptions)\n`,
    );
    return ExitCode.OK;
  } catch (error) {
    if (isSyncError(error) && error.kind === 'config') {
      process.stderr.write(`${error.message}\n`);
      return ExitCode.BAD_CONFIG;
    }
    throw error;
  }
}
