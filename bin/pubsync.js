#!/usr/bin/env node
// The package runs from its TypeScript sources: tsx's loader is registered before the CLI loads,
// so a fresh clone works without a build step. The tsconfig is named explicitly: tsx would look
// for one in the working directory, and the daemon is started from anywhere (systemd, cron).
import { URL, fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
await import('../src/cli/main.ts');
