#!/usr/bin/env node
// The package runs from its TypeScript sources: tsx's loader is registered before the CLI loads,
// so a fresh clone works without a build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
