/**
 * XML text to an XmlElement tree with saxes (strict, namespace-aware). Refuses what the
 * format never needs and attackers like: DTDs (so no entity but the five predefined and
 * character references), processing instructions, XML 1.1, and documents over the limits.
 */
import { SaxesParser, type SaxesTagNS } from 'saxes';
import { ErrorCodes } from '../errors/codes.js';
import { SyncError, type RecordError } from '../errors/sync-error.js';
import { formatError } from './format-error.js';
import { resolveLimits, type ParseLimits } from './limits.js';
import { attrKey, elementPath, type ElementStep, type XmlElement } from './xml-element.js';

const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';

interface OpenElement extends XmlElement {
  readonly attrs: Map<string, string>;
  readonly children: OpenElement[];
  text: string;
}

/** Parses `xml` into a tree; throws a record error (FORMAT_MALFORMED or FORMAT_LIMIT) on failure. */
export function readXml(xml: string, limits?: Partial<ParseLimits>): XmlElement {
  const resolved = resolveLimits(limits);
  if (typeof xml !== 'string') throw formatError(ErrorCodes.FORMAT_MALFORMED, 'input is not a string', { path: '/' });
  if (xml.length > resolved.maxLength) {
    throw formatError(ErrorCodes.FORMAT_LIMIT, `document is ${xml.length} characters, over the limit of ${resolved.maxLength}`, { path: '/' });
  }
  return new TreeBuilder(resolved).read(xml.charCodeAt(0) === 0xfeff ? xml.slice(1) : xml);
}

const OPTIONS = { xmlns: true, position: true, forceXMLVersion: true, defaultXMLVersion: '1.0' } as const;
/** saxes reports well-formedness errors as plain Errors whose message starts with line:column. */
const SAXES_MESSAGE = /^(\d+):(\d+): (.*?)\.?$/s;

class TreeBuilder {
  readonly #limits: ParseLimits;
  readonly #parser = new SaxesParser(OPTIONS);
  readonly #stack: OpenElement[] = [];
  #root: OpenElement | undefined;
  #elements = 0;

  constructor(limits: ParseLimits) {
    this.#limits = limits;
    const parser = this.#parser;
    // saxes adds a property per handler; from the seventh on, V8 turns the parser into a
    // dictionary-mode object and parsing gets 6x slower. Hence six handlers, no error handler
    // (saxes then throws, see read) and the XML declaration checked at the root element.
    parser.on('text', (text) => this.#text(text));
    parser.on('cdata', (text) => this.#text(text));
    parser.on('opentag', (tag) => this.#open(tag));
    parser.on('closetag', () => {
      this.#stack.pop();
    });
    parser.on('doctype', () => {
      throw this.#error(ErrorCodes.FORMAT_MALFORMED, 'a DOCTYPE (DTD) is not allowed');
    });
    parser.on('processinginstruction', (pi) => {
      throw this.#error(ErrorCodes.FORMAT_MALFORMED, `processing instruction <?${pi.target}?> is not allowed`);
    });
  }

  read(xml: string): XmlElement {
    try {
      this.#parser.write(xml).close();
    } catch (error) {
      throw isSaxesError(error) ? this.#error(ErrorCodes.FORMAT_MALFORMED, `malformed XML: ${saxesMessage(error)}`) : error;
    }
    if (this.#root === undefined) throw this.#error(ErrorCodes.FORMAT_MALFORMED, 'no root element');
    return this.#root;
  }

  #open(tag: SaxesTagNS): void {
    const parent = this.#stack[this.#stack.length - 1];
    if (parent === undefined) this.#checkXmlVersion();
    if (this.#stack.length >= this.#limits.maxDepth) {
      throw this.#error(ErrorCodes.FORMAT_LIMIT, `elements nested deeper than ${this.#limits.maxDepth}`);
    }
    if (++this.#elements > this.#limits.maxElements) {
      throw this.#error(ErrorCodes.FORMAT_LIMIT, `more than ${this.#limits.maxElements} elements`);
    }
    const element: OpenElement = {
      ns: tag.uri,
      local: tag.local,
      attrs: attributes(tag),
      children: [],
      text: '',
      line: this.#parser.line,
      column: this.#parser.column,
    };
    if (parent === undefined) this.#root = element;
    else parent.children.push(element);
    // Self-closing tags also get a closetag event, which pops them again.
    this.#stack.push(element);
  }

  // forceXMLVersion makes saxes read everything as 1.0; refuse a 1.1 document rather than misread it.
  #checkXmlVersion(): void {
    const { version } = this.#parser.xmlDecl;
    if (version !== undefined && version !== '1.0') {
      throw this.#error(ErrorCodes.FORMAT_MALFORMED, `XML version ${version} is not supported (1.0 only)`);
    }
  }

  #text(text: string): void {
    const current = this.#stack[this.#stack.length - 1];
    // Outside the root only whitespace gets here; saxes reports anything else as an error.
    if (current === undefined) return;
    if (current.text.length + text.length > this.#limits.maxValueLength) {
      throw this.#error(ErrorCodes.FORMAT_LIMIT, `text longer than ${this.#limits.maxValueLength} characters`);
    }
    current.text += text;
  }

  #error(code: typeof ErrorCodes.FORMAT_MALFORMED | typeof ErrorCodes.FORMAT_LIMIT, message: string): RecordError {
    let step: ElementStep | undefined;
    for (const element of this.#stack) step = { parent: step, element };
    return formatError(code, message, { path: elementPath(step), line: this.#parser.line, column: this.#parser.column });
  }
}

function attributes(tag: SaxesTagNS): Map<string, string> {
  const attrs = new Map<string, string>();
  for (const name in tag.attributes) {
    const attr = tag.attributes[name];
    if (attr === undefined || attr.uri === XMLNS_NS) continue;
    attrs.set(attrKey(attr.uri, attr.local), attr.value);
  }
  return attrs;
}

function isSaxesError(error: unknown): error is Error {
  return error instanceof Error && !(error instanceof SyncError) && SAXES_MESSAGE.test(error.message);
}

function saxesMessage(error: Error): string {
  return SAXES_MESSAGE.exec(error.message)?.[3] ?? error.message;
}
