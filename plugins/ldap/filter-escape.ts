/** RFC 4515 escaping of an assertion value inside a filter. */
export function escapeFilterValue(value: string): string {
  return value.replace(/[\\*()\0]/g, (char) => `\\${char.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** RFC 4514 escaping of an attribute value inside a DN. */
export function escapeDnValue(value: string): string {
  const escaped = value.replace(/[,+"\\<>;=\0]/g, (char) => `\\${char}`).replace(/^[ #]/, (char) => `\\${char}`);
  return escaped.endsWith(' ') ? `${escaped.slice(0, -1)}\\ ` : escaped;
}
