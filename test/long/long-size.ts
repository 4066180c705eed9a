/** A size of the long run, overridable from the environment (to run a shorter long run by hand). */
export function longSize(variable: string, fallback: number): number {
  const text = process.env[variable];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${variable} must be a positive integer, got ${text}`);
  return value;
}
