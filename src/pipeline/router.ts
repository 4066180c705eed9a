import type { NodeConfig, RouteConfig } from '../config/schema.js';
import type { Entry, Field } from '../format/model.js';

type Predicate = NonNullable<RouteConfig['where']>[number];

/**
 * Chooses the PubSub nodes an entry goes to, from its type, tags, source and field values. One
 * object may go to several nodes (the Hermod seed's /midgard_article/all and /approved). A
 * tombstone goes wherever its type and tags would send the object, so readers of a node always
 * learn about deletes of what they were sent.
 */
export class Router {
  readonly #nodes: readonly NodeConfig[];

  constructor(nodes: readonly NodeConfig[]) {
    this.#nodes = nodes;
  }

  route(entry: Entry, source: string): string[] {
    return this.#nodes.filter((node) => matches(node.route, entry, source)).map((node) => node.name);
  }
}

function matches(route: RouteConfig, entry: Entry, source: string): boolean {
  if (route.sources && !route.sources.includes(source)) return false;
  if (route.types && !route.types.includes(entry.type)) return false;
  if (route.tags && !route.tags.some((tag) => entry.tags.includes(tag))) return false;
  if (route.where) {
    // Field predicates cannot be checked on a tombstone (it has no fields): it follows type and tags.
    if (entry.deleted) return true;
    return route.where.every((predicate) => holds(predicate, entry.fields));
  }
  return true;
}

function holds(predicate: Predicate, fields: readonly Field[]): boolean {
  const field = fields.find((f) => f.name === predicate.field);
  const values = field ? field.values.map(comparable) : [];
  if (predicate.exists !== undefined && predicate.exists !== values.length > 0) return false;
  if (predicate.equals !== undefined && !values.includes(comparable(predicate.equals))) return false;
  if (predicate.in !== undefined && !predicate.in.some((candidate) => values.includes(comparable(candidate)))) {
    return false;
  }
  return true;
}

/** Values compare as text, so `equals: 1` matches an integer field and `equals: "true"` a boolean. */
function comparable(value: unknown): string {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}
