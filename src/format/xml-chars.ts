/**
 * What XML 1.0 text can carry, and escaping for the rest. XML 1.0 cannot hold C0 controls
 * other than tab/LF/CR, lone surrogates, U+FFFE or U+FFFF even as character references, so
 * strings containing them travel base64-encoded (see wtf8.ts and docs/format.md, "Escaping").
 */

// The control characters are the point of this pattern.
// eslint-disable-next-line no-control-regex
const NOT_XML_CHAR = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const TEXT_SPECIALS = /[&<>\r]/g;
const ATTR_SPECIALS = /[&<>"\t\n\r]/g;

const REPLACEMENTS: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  // Parsers normalise literal CR (and tab/LF in attributes); references survive normalisation.
  '\r': '&#13;',
  '\t': '&#9;',
  '\n': '&#10;',
};

function replace(ch: string): string {
  return REPLACEMENTS[ch] ?? ch;
}

/** True when every character of `s` may appear in an XML 1.0 document. */
export function isXmlSafe(s: string): boolean {
  return !NOT_XML_CHAR.test(s);
}

/** Escapes an XML-safe string for element content. */
export function escapeText(s: string): string {
  return s.replace(TEXT_SPECIALS, replace);
}

/** Escapes an XML-safe string for a double-quoted attribute value. */
export function escapeAttr(s: string): string {
  return s.replace(ATTR_SPECIALS, replace);
}
