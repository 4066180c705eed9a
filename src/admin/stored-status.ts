import type { StateStore } from '../state/state-store.js';

/** What the state database says of a daemon: readable while it runs (WAL) and after it stopped. */
export interface StoredStatus {
  readonly stateFile: string;
  readonly outbound: { readonly depth: number; readonly lastSeq: string; readonly oldestSeq: string | null; readonly compactedThrough: string };
  readonly checkpoints: readonly { readonly source: string; readonly checkpoint: string; readonly updatedAt: string }[];
  readonly highWater: readonly { readonly subscription: string; readonly origin: string; readonly seq: string; readonly updatedAt: string }[];
  readonly peerAcks: readonly { readonly peer: string; readonly seq: string }[];
  readonly deadLetters: number;
  readonly conflicts: number;
  readonly keyCollisions: number;
  readonly tombstonesPending: number;
}

export function readStoredStatus(store: StateStore, stateFile: string): StoredStatus {
  const oldest = store.oldestOutboundSeq();
  return {
    stateFile,
    outbound: {
      depth: store.outboundDepth(),
      lastSeq: String(store.lastOutboundSeq()),
      oldestSeq: oldest === undefined ? null : String(oldest),
      compactedThrough: String(store.compactedThrough()),
    },
    checkpoints: store.listCheckpoints().map((row) => ({ source: row.source, checkpoint: row.checkpoint, updatedAt: isoTime(row.updatedAt) })),
    highWater: store.listHighWater().map((row) => ({
      subscription: row.subscription,
      origin: row.origin,
      seq: String(row.seq),
      updatedAt: isoTime(row.updatedAt),
    })),
    peerAcks: [...store.peerAcks()].map(([peer, seq]) => ({ peer, seq: String(seq) })),
    deadLetters: store.countDeadLetters(),
    conflicts: store.countConflicts('conflict'),
    keyCollisions: store.countConflicts('collision'),
    tombstonesPending: store.countTombstones(),
  };
}

function isoTime(ms: bigint | number): string {
  return new Date(Number(ms)).toISOString();
}
