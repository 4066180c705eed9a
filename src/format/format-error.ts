/** Record errors located in a document: what is wrong, the element path and the source position. */
import type { ErrorCodes } from '../errors/codes.js';
import { RecordError } from '../errors/sync-error.js';
import { elementPath, type ElementStep } from './xml-element.js';

export type FormatErrorCode = typeof ErrorCodes.FORMAT_MALFORMED | typeof ErrorCodes.FORMAT_INVALID | typeof ErrorCodes.FORMAT_LIMIT;

export interface Location {
  readonly path: string;
  readonly line?: number | undefined;
  readonly column?: number | undefined;
}

export function formatError(code: FormatErrorCode, message: string, location: Location): RecordError {
  const { path, line, column } = location;
  const position = line === undefined ? '' : ` (line ${line}, column ${column ?? 0})`;
  return new RecordError(code, `${message} at ${path}${position}`, {
    details: { path, ...(line === undefined ? {} : { line, column }) },
  });
}

/** The location of an element of the tree being read. */
export function locate(step: ElementStep): Location {
  return { path: elementPath(step), line: step.element.line, column: step.element.column };
}
