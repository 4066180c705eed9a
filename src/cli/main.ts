import 'reflect-metadata';
import { createRequire } from 'node:module';
import { Command } from 'commander';
import { registerCheckCommand } from './check-command.js';
import { registerTransformCommand } from './transform-command.js';
import { registerRunCommand } from './run-command.js';
import { registerStatusCommand } from './status-command.js';
import { registerDlqCommand } from './dlq-command.js';
import { registerSyncCommand } from './sync-command.js';
import { registerNodesCommand } from './nodes-command.js';
import { ExitCode } from './exit-codes.js';

const require = createRequire(import.meta.url);
const { version } = require('../../package.json') as { version: string };

const program = new Command('pubsync')
  .description('Keeps unlike applications in sync over XMPP PubSub')
  .version(version, '-V, --version');

registerCheckCommand(program);
registerTransformCommand(program);
registerRunCommand(program);
registerStatusCommand(program);
registerDlqCommand(program);
registerSyncCommand(program);
registerNodesCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = ExitCode.FAILURE;
}
