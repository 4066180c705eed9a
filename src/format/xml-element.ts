/** The parsed, namespace-resolved element tree the entry parser reads, and element paths for messages. */
import { ATOM_NS, PUBSYNC_NS, TOMBSTONE_NS } from './namespaces.js';

export interface XmlElement {
  /** Namespace URI; '' for none. */
  readonly ns: string;
  readonly local: string;
  /** Attributes except namespace declarations, keyed by local name, or `{uri}local` when namespaced. */
  readonly attrs: ReadonlyMap<string, string>;
  readonly children: readonly XmlElement[];
  /** The element's own character data (CDATA included), concatenated. */
  readonly text: string;
  /** Where the start tag ends in the source, when known. */
  readonly line?: number;
  readonly column?: number;
}

/** A step down from the root; paths are built from these only when an error is reported. */
export interface ElementStep {
  readonly parent: ElementStep | undefined;
  readonly element: XmlElement;
}

const PREFIXES: ReadonlyMap<string, string> = new Map([
  [ATOM_NS, 'atom:'],
  [TOMBSTONE_NS, 'at:'],
  [PUBSYNC_NS, 'ps:'],
  ['', ''],
]);

/** The key under which an attribute is found in XmlElement.attrs. */
export function attrKey(ns: string, local: string): string {
  return ns === '' ? local : `{${ns}}${local}`;
}

/** A readable qualified name with fixed prefixes (atom:, at:, ps:) whatever the document used. */
export function qualifiedName(ns: string, local: string): string {
  return `${PREFIXES.get(ns) ?? `{${ns}}`}${local}`;
}

/** `/atom:feed/atom:entry[2]/atom:content/ps:object`: an index only where a name repeats. */
export function elementPath(step: ElementStep | undefined): string {
  const parts: string[] = [];
  for (let s = step; s !== undefined; s = s.parent) {
    const { element } = s;
    const name = qualifiedName(element.ns, element.local);
    const siblings = s.parent?.element.children.filter((c) => c.ns === element.ns && c.local === element.local) ?? [];
    parts.push(siblings.length > 1 ? `${name}[${siblings.indexOf(element) + 1}]` : name);
  }
  return `/${parts.reverse().join('/')}`;
}
