/**
 * The escaping rule for free text (docs/format.md, "Escaping"): text that XML 1.0 can hold is
 * written as text; otherwise the element gets enc="base64" and carries base64(WTF-8(text)).
 */
import { decodeBase64, encodeBase64 } from './base64.js';
import { BASE64_ENCODING } from './namespaces.js';
import { decodeWtf8, encodeWtf8 } from './wtf8.js';
import { escapeText, isXmlSafe } from './xml-chars.js';

/** `<tag>text</tag>`, escaped as the rule says. `tag` is a literal name. */
export function textElement(tag: string, text: string): string {
  if (text === '') return `<${tag}/>`;
  if (isXmlSafe(text)) return `<${tag}>${escapeText(text)}</${tag}>`;
  return `<${tag} enc="${BASE64_ENCODING}">${encodeEscaped(text)}</${tag}>`;
}

export function encodeEscaped(text: string): string {
  return encodeBase64(encodeWtf8(text));
}

/** The original text of an escaped string, or undefined if it is not valid base64 of WTF-8. */
export function decodeEscaped(encoded: string): string | undefined {
  const bytes = decodeBase64(encoded);
  return bytes === undefined ? undefined : decodeWtf8(bytes);
}
