import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OutboundItem } from '../../../src/state/index.js';

/** A clock the test moves by hand, for created_at, retention and tombstone ages. */
export class ManualClock {
  constructor(public time = 1_700_000_000_000) {}
  now(): number {
    return this.time;
  }
}

/** A fresh directory under the OS temp dir; remove() deletes it and everything in it. */
export function tempDirectory(): { readonly path: string; file(name: string): string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), 'pubsync-state-'));
  return {
    path,
    file: (name) => join(path, name),
    remove: () => rmSync(path, { recursive: true, force: true }),
  };
}

export function outboundItem(n: number, nodes: readonly string[] = ['people']): OutboundItem {
  return { entryId: `urn:uuid:entry-${n}`, csn: `csn-${String(n).padStart(8, '0')}`, nodes, payload: `<entry n="${n}"/>` };
}

export function outboundItems(from: number, count: number): OutboundItem[] {
  return Array.from({ length: count }, (_, i) => outboundItem(from + i));
}

/** Code point order, which is SQLite's BINARY order for UTF-8 text (JS's < is UTF-16 order). */
export function compareCodePoints(a: string, b: string): number {
  const left = Array.from(a, (c) => c.codePointAt(0) as number);
  const right = Array.from(b, (c) => c.codePointAt(0) as number);
  for (let i = 0; i < Math.min(left.length, right.length); i += 1) {
    const difference = (left[i] as number) - (right[i] as number);
    if (difference !== 0) return difference;
  }
  return left.length - right.length;
}
