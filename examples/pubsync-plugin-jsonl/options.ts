import { isAbsolute } from 'node:path';
import { z } from 'zod';

// Absolute only: a plugin does not know where the config file is, and the daemon's working
// directory is no base to rely on.
const directory = z
  .string()
  .min(1)
  .refine(isAbsolute, 'an absolute path')
  .describe('the directory holding one <id>.json file per object');

export const sourceOptions = z
  .object({
    directory,
    pollIntervalMs: z.number().int().min(10).default(1000).describe('how often the directory is scanned'),
    maxBatch: z.number().int().positive().default(100).describe('changes per batch at most'),
  })
  .strict();

export const sinkOptions = z
  .object({
    directory,
    refusedTypes: z
      .array(z.string().min(1))
      .default([])
      .describe('object types this sink refuses: they come back rejected and the core dead-letters them'),
  })
  .strict();

export type SourceOptions = z.output<typeof sourceOptions>;
export type SinkOptions = z.output<typeof sinkOptions>;
