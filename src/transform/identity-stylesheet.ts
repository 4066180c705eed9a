import { readFile } from 'node:fs/promises';
import { SaxesParser } from 'saxes';

const XSL = 'http://www.w3.org/1999/XSL/Transform';

/**
 * Whether a stylesheet is the identity transform: its only declaration is an unnamed
 * `<xsl:mode on-no-match="shallow-copy"/>` (transforms/identity.xsl), so its output is its input.
 * A transform can then hand the batch on as it is, without a worker round trip: serializing the
 * batch, SaxonJS parsing and re-serializing it and the output being parsed again cost ~2 ms of CPU
 * per entry (bench/RESULTS.md, scenario f), for nothing. Anything else in the file (a template, a
 * parameter, an import, another attribute) makes it an ordinary stylesheet; so does a file that
 * does not parse (the compiler reports that).
 */
export async function isIdentityStylesheet(path: string): Promise<boolean> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return false;
  }
  return isIdentityStylesheetText(text);
}

export function isIdentityStylesheetText(text: string): boolean {
  const parser = new SaxesParser({ xmlns: true });
  let depth = 0;
  let modes = 0;
  let identity = true;
  parser.on('opentag', (tag) => {
    depth++;
    const own = Object.values(tag.attributes).filter((a) => a.prefix !== 'xmlns' && a.name !== 'xmlns');
    if (depth === 1) {
      if (tag.uri !== XSL || (tag.local !== 'stylesheet' && tag.local !== 'transform')) identity = false;
      if (own.some((a) => a.name !== 'version')) identity = false;
    } else if (depth === 2 && tag.uri === XSL && tag.local === 'mode') {
      modes++;
      if (own.length !== 1 || own[0]?.name !== 'on-no-match' || own[0].value !== 'shallow-copy') identity = false;
    } else {
      identity = false;
    }
  });
  parser.on('closetag', () => {
    depth--;
  });
  parser.on('text', (t) => {
    if (t.trim() !== '') identity = false;
  });
  parser.on('cdata', () => {
    identity = false;
  });
  try {
    parser.write(text).close();
  } catch {
    return false;
  }
  return identity && modes === 1;
}
