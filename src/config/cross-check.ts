import type { PathSegment } from './config-problem.js';

export interface CrossProblem {
  readonly path: PathSegment[];
  readonly message: string;
}

type Named = Record<string, unknown>;

/**
 * Checks that span sections (names that refer to each other). They run on the raw input, even
 * when the schema found other problems, so that one run of `pubsync check` reports everything;
 * every access is therefore defensive.
 */
export function crossCheck(input: unknown): CrossProblem[] {
  const problems: CrossProblem[] = [];
  const root = isRecord(input) ? input : {};
  const section = (key: string): Named[] => (Array.isArray(root[key]) ? (root[key] as Named[]) : []);
  for (const key of ['sources', 'sinks', 'nodes', 'subscriptions']) duplicates(section(key), key, problems);

  const sinks = names(section('sinks'));
  section('subscriptions').forEach((sub, i) => {
    const sink = isRecord(sub) ? sub['sink'] : undefined;
    if (typeof sink === 'string' && !sinks.has(sink)) {
      problems.push({
        path: ['subscriptions', i, 'sink'],
        message: `no sink named "${sink}"; the sinks are: ${[...sinks].join(', ') || '(none configured)'}`,
      });
    }
  });
  const sources = names(section('sources'));
  section('sinks').forEach((sink, i) => {
    const source = isRecord(sink) ? sink['source'] : undefined;
    if (typeof source === 'string' && !sources.has(source)) {
      problems.push({
        path: ['sinks', i, 'source'],
        message: `no source named "${source}"; the sources are: ${[...sources].join(', ') || '(none configured)'}`,
      });
    }
  });
  section('nodes').forEach((node, i) => {
    const route = isRecord(node) && isRecord(node['route']) ? node['route'] : {};
    const wanted = Array.isArray(route['sources']) ? route['sources'] : [];
    wanted.forEach((source, j) => {
      if (typeof source === 'string' && !sources.has(source)) {
        problems.push({ path: ['nodes', i, 'route', 'sources', j], message: `no source named "${source}"` });
      }
    });
  });
  if ((section('nodes').length > 0 || section('subscriptions').length > 0) && root['xmpp'] === undefined) {
    problems.push({ path: ['xmpp'], message: 'nodes and subscriptions need an xmpp section' });
  }
  return problems;
}

function duplicates(items: Named[], key: string, problems: CrossProblem[]): void {
  const seen = new Set<unknown>();
  items.forEach((item, i) => {
    const name = isRecord(item) ? item['name'] : undefined;
    if (typeof name !== 'string') return;
    if (seen.has(name)) problems.push({ path: [key, i, 'name'], message: `duplicate name "${name}"` });
    seen.add(name);
  });
}

function names(items: Named[]): Set<string> {
  return new Set(items.flatMap((item) => (isRecord(item) && typeof item['name'] === 'string' ? [item['name']] : [])));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
