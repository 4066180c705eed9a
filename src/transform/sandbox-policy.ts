/**
 * The static half of the transform sandbox: a compiled stylesheet (SEF) is refused when it calls
 * anything that reaches outside the input document. Checked on every load, cache hits included,
 * so a stylesheet never runs without passing it. Refusing at load time makes a forbidden call a
 * config problem (`pubsync check`) rather than a surprise per record; the worker's lock-down
 * (worker-source.ts) still refuses at run time whatever gets past this list.
 */

const FN_NS = 'http://www.w3.org/2005/xpath-functions';

/** Functions that read files or URLs, the environment, or call functions by computed name. */
const FORBIDDEN_FUNCTIONS: ReadonlyMap<string, string> = new Map([
  ['doc', 'reads a document by URI'],
  ['doc-available', 'reads a document by URI'],
  ['document', 'reads a document by URI'],
  ['unparsed-text', 'reads a file or URL'],
  ['unparsed-text-lines', 'reads a file or URL'],
  ['unparsed-text-available', 'reads a file or URL'],
  ['json-doc', 'reads a file or URL'],
  ['collection', 'reads a collection'],
  ['uri-collection', 'reads a collection'],
  ['environment-variable', 'reads the environment'],
  ['available-environment-variables', 'reads the environment'],
  ['transform', 'loads and runs another stylesheet'],
  ['load-xquery-module', 'loads a module'],
  // A function looked up by a computed name could be any of the above.
  ['function-lookup', 'calls a function by computed name'],
]);

/** SEF instructions refused outright. */
const FORBIDDEN_INSTRUCTIONS: ReadonlyMap<string, string> = new Map([
  ['resultDoc', 'xsl:result-document writes documents'],
  // Dynamic XPath could name any forbidden function at run time.
  ['evaluate', 'xsl:evaluate runs XPath built at run time'],
]);

/** SaxonJS's JavaScript bridges: ixsl: (interactive XSLT) and js: (global JavaScript) run arbitrary code. */
const FORBIDDEN_NAMESPACES = ['http://saxonica.com/ns/interactiveXSLT', 'http://saxonica.com/ns/globalJS'];

export interface SandboxViolation {
  /** What was found, e.g. `fn:doc()` or `xsl:result-document`. */
  readonly construct: string;
  readonly reason: string;
  /** Line in the stylesheet module, when the compiled form records it. */
  readonly line?: number;
  readonly module?: string;
}

/** Every forbidden construct in a parsed SEF, in document order (empty when the stylesheet is allowed). */
export function findSandboxViolations(sef: unknown): SandboxViolation[] {
  const violations: SandboxViolation[] = [];
  walk(sef, undefined, undefined, violations);
  return violations;
}

function walk(node: unknown, line: number | undefined, module: string | undefined, out: SandboxViolation[]): void {
  if (Array.isArray(node)) {
    for (const item of node) walk(item, line, module, out);
    return;
  }
  if (typeof node !== 'object' || node === null) {
    if (typeof node === 'string') checkNamespaces(node, line, module, out);
    return;
  }
  const record = node as Record<string, unknown>;
  const here = lineOf(record.line) ?? line;
  const where = typeof record.module === 'string' ? record.module : module;
  const violation = check(record);
  if (violation) out.push({ ...violation, ...(here === undefined ? {} : { line: here }), ...(where === undefined ? {} : { module: where }) });
  for (const [key, value] of Object.entries(record)) {
    if (key !== 'N') walk(value, here, where, out);
  }
}

function check(node: Record<string, unknown>): { construct: string; reason: string } | undefined {
  const kind = node.N;
  const name = typeof node.name === 'string' ? node.name : undefined;
  if (typeof kind !== 'string') return undefined;
  const instruction = FORBIDDEN_INSTRUCTIONS.get(kind);
  if (instruction !== undefined) return { construct: kind === 'resultDoc' ? 'xsl:result-document' : 'xsl:evaluate', reason: instruction };
  if ((kind === 'fn' || kind === 'fnRef') && name !== undefined) {
    const local = name.startsWith(`Q{${FN_NS}}`) ? name.slice(FN_NS.length + 3) : name;
    const reason = FORBIDDEN_FUNCTIONS.get(local);
    if (reason !== undefined) return { construct: `fn:${local}()`, reason };
  }
  return undefined;
}

function checkNamespaces(text: string, line: number | undefined, module: string | undefined, out: SandboxViolation[]): void {
  for (const ns of FORBIDDEN_NAMESPACES) {
    if (!text.includes(ns)) continue;
    out.push({
      construct: `Q{${ns}}`,
      reason: 'SaxonJS JavaScript extensions run arbitrary code',
      ...(line === undefined ? {} : { line }),
      ...(module === undefined ? {} : { module }),
    });
    return;
  }
}

function lineOf(value: unknown): number | undefined {
  const line = typeof value === 'string' ? Number(value) : value;
  return typeof line === 'number' && Number.isInteger(line) ? line : undefined;
}
