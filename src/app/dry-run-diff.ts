import type { Field } from '../format/model.js';
import type { DryRun, DryRunOperation } from './dry-run.js';

/** Longest rendering of one field's values before it is cut. */
const MAX_VALUE_CHARS = 120;

/** What a dry run says before any diff: that nothing is written, and what waits to be published. */
export function dryRunHeader(dryRun: DryRun): string[] {
  return [
    'dry run: sinks, the outbound log, the XMPP nodes and the state database are left as they are (the state is read from a copy)',
    `dry run: ${dryRun.pendingOutbound} log records wait to be published (not published now)`,
  ];
}

/**
 * A readable diff of one operation a sink would be given: the object (global id, type, its keys),
 * then per written field its old CSN -> new CSN and the new values. The state database keeps the
 * CSN of every field a sink applied, not its value; the old value is shown when our own outbound
 * log holds the object (our sources captured it from the application), as `(was ...)`.
 */
export function renderOperation(operation: DryRunOperation): string[] {
  const { sink, entry, before } = operation;
  const keys = entry.keys.map((k) => `${k.scheme}=${k.value}`).join(', ');
  const localKey = before?.localKey === undefined ? '' : `, local key ${before.localKey}`;
  const where = `${entry.type}${keys ? `, ${keys}` : ''}${localKey}`;
  if (entry.deleted) return [`${sink}: - ${entry.id} (${where}) delete at ${entry.csn}`];
  const local = operation.local && !operation.local.deleted ? operation.local : undefined;
  // Known: the sink applied it, or our own sources captured it from the application.
  const known = before !== undefined || local !== undefined;
  const lines = [`${sink}: ${known ? '~' : '+'} ${entry.id} (${where}${known ? '' : ', new'})`];
  for (const name of operation.fields) {
    const { csn, value } = describe(entry, name);
    const was = local ? describe(local, name) : undefined;
    const oldCsn = before?.csns[name] ?? was?.csn ?? '(none)';
    const wasText = was === undefined || was.value === value ? '' : `  (was ${was.csn === undefined ? 'absent' : was.value})`;
    lines.push(`    ${name}: ${oldCsn} -> ${csn ?? '?'}  ${value}${wasText}`);
  }
  return lines;
}

function describe(entry: Extract<DryRunOperation['entry'], { deleted: false }>, name: string): { csn: string | undefined; value: string } {
  if (name.startsWith('child:')) {
    const child = entry.children.find((c) => `child:${c.id}` === name);
    return { csn: child?.csn, value: child ? `${child.type} {${child.fields.map((f) => `${f.name}: ${values(f)}`).join(', ')}}` : '(gone)' };
  }
  if (name.startsWith('attachment:')) {
    const attachment = entry.attachments.find((a) => `attachment:${a.name}` === name);
    return { csn: attachment?.csn, value: attachment ? `${attachment.contentType}, ${attachment.length} bytes, sha256 ${attachment.sha256.slice(0, 12)}` : '(gone)' };
  }
  const field = entry.fields.find((f) => f.name === name);
  return { csn: field?.csn, value: field ? values(field) : '(removed)' };
}

/** A field's values as text: one value bare, several in brackets, cut at MAX_VALUE_CHARS. */
export function values(field: Field): string {
  const texts = field.values.map((value: unknown) => valueText(field.type, value));
  const text = texts.length === 1 ? (texts[0] ?? '') : `[${texts.join(', ')}]`;
  return text.length > MAX_VALUE_CHARS ? `${text.slice(0, MAX_VALUE_CHARS - 3)}...` : text;
}

function valueText(type: Field['type'], value: unknown): string {
  switch (type) {
    case 'binary':
      return `<${(value as Uint8Array).length} bytes>`;
    case 'integer':
    case 'decimal':
    case 'boolean':
      return String(value);
    default:
      return JSON.stringify(value);
  }
}
