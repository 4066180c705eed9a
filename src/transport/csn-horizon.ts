import { DEFAULT_MAX_FORWARD_SKEW_MS, parseCsn } from '../format/index.js';
import type { Entry } from '../format/model.js';

/**
 * The newest CSN an inbound entry may carry. Per-field last-writer-wins lets a CSN far in the
 * future win every later conflict on that field, and lift the local clock with it, so a peer
 * (broken clock or hostile) must not get one in: such an entry is refused, as CsnClock.observe()
 * refuses one from a local source.
 */
export function csnTooFarAhead(entry: Entry, nowMs: number, maxForwardSkewMs = DEFAULT_MAX_FORWARD_SKEW_MS): { csn: string; aheadMs: number } | undefined {
  const limit = BigInt(Math.floor(nowMs + maxForwardSkewMs)) * 1000n;
  const csns = [entry.csn];
  if (!entry.deleted) {
    for (const field of entry.fields) csns.push(field.csn);
    for (const child of entry.children) {
      csns.push(child.csn);
      for (const field of child.fields) csns.push(field.csn);
    }
    for (const attachment of entry.attachments) csns.push(attachment.csn);
  }
  for (const csn of csns) {
    const time = parseCsn(csn).time;
    if (time > limit) return { csn, aheadMs: Number((time - BigInt(Math.floor(nowMs)) * 1000n) / 1000n) };
  }
  return undefined;
}
