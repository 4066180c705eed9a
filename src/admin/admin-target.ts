import type { Batch, Entry } from '../format/model.js';
import type { ApplyReport } from '../pipeline/applier.js';
import type { CapturedEntry } from '../pipeline/capture.js';
import type { Transport } from '../transport/xmpp-transport.js';

/** What the admin endpoint reads of (and asks of) the running daemon: getters and events only. */
export interface AdminTarget {
  /** start() completed and stop() has not begun. */
  readonly started: boolean;
  readonly transport: Transport | null;
  /** Batches waiting in a subscription's inbound queue; undefined for an unknown subscription. */
  inboundDepth(subscription: string): number | undefined;
  /**
   * Applies entries through a subscription's inbound path; undefined for an unknown subscription.
   * `transformed`: the entries went through the subscription's transform already (skip it).
   */
  retryEntries(subscription: string, entries: readonly Entry[], transformed?: boolean): Promise<ApplyReport> | undefined;
  onCaptured(listener: (entries: readonly CapturedEntry[], source: string) => void): () => void;
  onReceived(listener: (subscription: string, batch: Batch) => void): () => void;
  onApplied(listener: (subscription: string, report: ApplyReport) => void): () => void;
}
