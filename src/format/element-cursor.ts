/**
 * Strict reading of one element of the tree: allowed attributes, text-only or element-only
 * content, children in a fixed order. Every failure is a located record error.
 */
import { ErrorCodes } from '../errors/codes.js';
import type { RecordError } from '../errors/sync-error.js';
import { decodeEscaped } from './escaped-text.js';
import { formatError, locate, type FormatErrorCode } from './format-error.js';
import type { ParseLimits } from './limits.js';
import { BASE64_ENCODING } from './namespaces.js';
import { qualifiedName, type ElementStep, type XmlElement } from './xml-element.js';

const WHITESPACE = /^[ \t\r\n]*$/;

export class ElementCursor {
  readonly element: XmlElement;
  readonly step: ElementStep;
  readonly limits: ParseLimits;

  constructor(element: XmlElement, parent: ElementStep | undefined, limits: ParseLimits) {
    this.element = element;
    this.step = { parent, element };
    this.limits = limits;
  }

  get name(): string {
    return qualifiedName(this.element.ns, this.element.local);
  }

  is(ns: string, local: string): boolean {
    return this.element.ns === ns && this.element.local === local;
  }

  error(message: string, code: FormatErrorCode = ErrorCodes.FORMAT_INVALID): RecordError {
    return formatError(code, message, locate(this.step));
  }

  /** Refuses any attribute not in `allowed` (keys as made by attrKey). */
  allowAttributes(...allowed: string[]): this {
    for (const key of this.element.attrs.keys()) {
      if (!allowed.includes(key)) throw this.error(`unexpected attribute ${describeAttr(key)} on ${this.name}`);
    }
    return this;
  }

  attr(key: string): string | undefined {
    return this.element.attrs.get(key);
  }

  requireAttr(key: string): string {
    const value = this.element.attrs.get(key);
    if (value === undefined) throw this.error(`missing attribute ${describeAttr(key)} on ${this.name}`);
    return value;
  }

  /** Text of an element that may hold only text. */
  text(): string {
    if (this.element.children.length > 0) {
      const child = this.element.children[0] as XmlElement;
      throw this.error(`unexpected element ${qualifiedName(child.ns, child.local)} in ${this.name}, which holds only text`);
    }
    return this.element.text;
  }

  /** An element that must have no content (whitespace aside). */
  empty(): void {
    if (this.element.children.length > 0 || !WHITESPACE.test(this.element.text)) throw this.error(`${this.name} must be empty`);
  }

  /** Text that is non-empty (identifiers). */
  nonEmptyText(): string {
    const text = this.text();
    if (text === '') throw this.error(`${this.name} is empty`);
    return text;
  }

  /** Free text under the escaping rule: plain, or base64 of WTF-8 when the `enc` attribute says so. */
  escapedText(encKey = 'enc'): string {
    const text = this.text();
    const enc = this.attr(encKey);
    if (enc === undefined) return text;
    if (enc !== BASE64_ENCODING) throw this.error(`unknown encoding ${describeAttr(encKey)}="${enc}" (only "base64")`);
    const decoded = decodeEscaped(text);
    if (decoded === undefined) throw this.error(`${this.name} is not canonical base64 of WTF-8 text`);
    return decoded;
  }

  /** The children of an element that may hold only elements (whitespace between them is fine). */
  children(): ChildSequence {
    if (!WHITESPACE.test(this.element.text)) throw this.error(`unexpected text in ${this.name}, which holds only elements`);
    return new ChildSequence(this);
  }
}

/** Children consumed in document order, matching the fixed order of the format. */
export class ChildSequence {
  readonly #parent: ElementCursor;
  readonly #children: readonly XmlElement[];
  #next = 0;

  constructor(parent: ElementCursor) {
    this.#parent = parent;
    this.#children = parent.element.children;
  }

  /** The next child if it is ns:local, else undefined (nothing consumed). */
  optional(ns: string, local: string): ElementCursor | undefined {
    const child = this.#children[this.#next];
    if (child === undefined || child.ns !== ns || child.local !== local) return undefined;
    this.#next++;
    return this.#cursor(child);
  }

  required(ns: string, local: string): ElementCursor {
    const cursor = this.optional(ns, local);
    if (cursor !== undefined) return cursor;
    const expected = qualifiedName(ns, local);
    const found = this.#children[this.#next];
    if (found === undefined) throw this.#parent.error(`missing ${expected} in ${this.#parent.name}`);
    throw this.#cursor(found).error(`expected ${expected}, found ${qualifiedName(found.ns, found.local)}`);
  }

  /** All consecutive children named ns:local, at most `max` of them. */
  many(ns: string, local: string, max: number): ElementCursor[] {
    const cursors: ElementCursor[] = [];
    for (let cursor = this.optional(ns, local); cursor !== undefined; cursor = this.optional(ns, local)) {
      if (cursors.length === max) {
        throw cursor.error(`more than ${max} ${qualifiedName(ns, local)} elements`, ErrorCodes.FORMAT_LIMIT);
      }
      cursors.push(cursor);
    }
    return cursors;
  }

  /** The next child whatever its name, for content that mixes names (feed entries). */
  next(): ElementCursor | undefined {
    const child = this.#children[this.#next];
    if (child === undefined) return undefined;
    this.#next++;
    return this.#cursor(child);
  }

  /** Refuses anything left over: the format has no extension points. */
  end(): void {
    const extra = this.#children[this.#next];
    if (extra !== undefined) {
      throw this.#cursor(extra).error(`unexpected element ${qualifiedName(extra.ns, extra.local)} in ${this.#parent.name}`);
    }
  }

  #cursor(element: XmlElement): ElementCursor {
    return new ElementCursor(element, this.#parent.step, this.#parent.limits);
  }
}

/** `{urn:xmpp:pubsync:entry:1}enc` reads better as ps:enc. */
function describeAttr(key: string): string {
  const m = /^\{(.*)\}(.*)$/.exec(key);
  return m === null ? key : qualifiedName(m[1] ?? '', m[2] ?? '');
}
