import { Ber, BerReader, BerWriter, Control } from 'ldapts';

/**
 * RFC 4533 (Content Synchronization) pieces that ldapts lacks: the Sync Request control we send,
 * and decoders for the Sync State control (on each entry), the Sync Info message (an
 * IntermediateResponse) and the Sync Done control (on SearchResultDone).
 */

export const SYNC_REQUEST_OID = '1.3.6.1.4.1.4203.1.9.1.1';
export const SYNC_STATE_OID = '1.3.6.1.4.1.4203.1.9.1.2';
export const SYNC_DONE_OID = '1.3.6.1.4.1.4203.1.9.1.3';
export const SYNC_INFO_OID = '1.3.6.1.4.1.4203.1.9.1.4';

export type SyncMode = 'refreshOnly' | 'refreshAndPersist';

const MODE_VALUES: Readonly<Record<SyncMode, number>> = { refreshOnly: 1, refreshAndPersist: 3 };

export interface SyncRequestValue {
  readonly mode: SyncMode;
  /** Opaque to the client: what the server sent last (e.g. `rid=000,csn=...`). */
  readonly cookie?: Buffer | undefined;
  readonly reloadHint?: boolean;
}

/** syncRequestValue ::= SEQUENCE { mode ENUMERATED, cookie syncCookie OPTIONAL, reloadHint BOOLEAN DEFAULT FALSE } */
export class SyncRequestControl extends Control {
  readonly value: SyncRequestValue;

  constructor(value: SyncRequestValue) {
    // Critical: a server that cannot sync must refuse the search, not silently run a plain one.
    super(SYNC_REQUEST_OID, { critical: true });
    this.value = value;
  }

  protected override writeControl(writer: BerWriter): void {
    writer.writeBuffer(encodeSyncRequestValue(this.value), Ber.OctetString);
  }
}

export function encodeSyncRequestValue(value: SyncRequestValue): Buffer {
  const inner = new BerWriter();
  inner.startSequence();
  inner.writeEnumeration(MODE_VALUES[value.mode]);
  if (value.cookie !== undefined) inner.writeBuffer(value.cookie, Ber.OctetString);
  if (value.reloadHint) inner.writeBoolean(true);
  inner.endSequence();
  return inner.buffer;
}

export type SyncStateKind = 'present' | 'add' | 'modify' | 'delete';
const STATES: readonly SyncStateKind[] = ['present', 'add', 'modify', 'delete'];

export interface SyncState {
  readonly state: SyncStateKind;
  /** The entry's entryUUID in its textual form (8-4-4-4-12 hex). */
  readonly entryUuid: string;
  readonly cookie?: Buffer;
}

/** syncStateValue ::= SEQUENCE { state ENUMERATED, entryUUID syncUUID, cookie syncCookie OPTIONAL } */
export function decodeSyncState(value: Buffer): SyncState {
  const reader = new BerReader(value);
  expect(reader.readSequence(Ber.Sequence | Ber.Constructor), 'syncStateValue');
  const end = reader.offset + reader.length;
  const stateValue = expect(reader.readEnumeration(), 'syncStateValue.state');
  const state = STATES[stateValue];
  if (state === undefined) throw new SyncDecodeError(`syncStateValue.state ${stateValue} is not 0-3`);
  const uuid = expect(reader.readString(Ber.OctetString, true), 'syncStateValue.entryUUID');
  const cookie = reader.offset < end ? optionalOctets(reader) : undefined;
  return { state, entryUuid: formatUuid(uuid), ...(cookie ? { cookie } : {}) };
}

export type SyncInfo =
  | { readonly kind: 'newcookie'; readonly cookie: Buffer }
  | { readonly kind: 'refreshDelete' | 'refreshPresent'; readonly cookie?: Buffer; readonly refreshDone: boolean }
  | { readonly kind: 'syncIdSet'; readonly cookie?: Buffer; readonly refreshDeletes: boolean; readonly uuids: readonly string[] };

const NEW_COOKIE_TAG = Ber.Context | 0;
const REFRESH_DELETE_TAG = Ber.Context | Ber.Constructor | 1;
const REFRESH_PRESENT_TAG = Ber.Context | Ber.Constructor | 2;
const SYNC_ID_SET_TAG = Ber.Context | Ber.Constructor | 3;

/** syncInfoValue ::= CHOICE { newcookie [0], refreshDelete [1], refreshPresent [2], syncIdSet [3] } */
export function decodeSyncInfo(value: Buffer): SyncInfo {
  const reader = new BerReader(value);
  const tag = reader.peek();
  switch (tag) {
    case NEW_COOKIE_TAG:
      return { kind: 'newcookie', cookie: expect(reader.readString(NEW_COOKIE_TAG, true), 'syncInfoValue.newcookie') };
    case REFRESH_DELETE_TAG:
    case REFRESH_PRESENT_TAG: {
      expect(reader.readSequence(tag), 'syncInfoValue.refresh');
      const end = reader.offset + reader.length;
      const cookie = reader.offset < end ? optionalOctets(reader) : undefined;
      // refreshDone is DEFAULT TRUE: absent means the refresh phase is over.
      const refreshDone = reader.offset < end && reader.peek() === Ber.Boolean ? (reader.readBoolean() ?? true) : true;
      const kind = tag === REFRESH_DELETE_TAG ? 'refreshDelete' : 'refreshPresent';
      return { kind, refreshDone, ...(cookie ? { cookie } : {}) };
    }
    case SYNC_ID_SET_TAG: {
      expect(reader.readSequence(tag), 'syncInfoValue.syncIdSet');
      const cookie = optionalOctets(reader);
      const refreshDeletes = reader.peek() === Ber.Boolean ? (reader.readBoolean() ?? false) : false;
      expect(reader.readSequence(Ber.Set | Ber.Constructor), 'syncIdSet.syncUUIDs');
      const end = reader.offset + reader.length;
      const uuids: string[] = [];
      while (reader.offset < end) uuids.push(formatUuid(expect(reader.readString(Ber.OctetString, true), 'syncUUID')));
      return { kind: 'syncIdSet', refreshDeletes, uuids, ...(cookie ? { cookie } : {}) };
    }
    default:
      throw new SyncDecodeError(`syncInfoValue has unknown choice tag 0x${(tag ?? 0).toString(16)}`);
  }
}

export interface SyncDone {
  readonly cookie?: Buffer;
  readonly refreshDeletes: boolean;
}

/** syncDoneValue ::= SEQUENCE { cookie syncCookie OPTIONAL, refreshDeletes BOOLEAN DEFAULT FALSE } */
export function decodeSyncDone(value: Buffer): SyncDone {
  const reader = new BerReader(value);
  expect(reader.readSequence(Ber.Sequence | Ber.Constructor), 'syncDoneValue');
  const end = reader.offset + reader.length;
  const cookie = reader.offset < end ? optionalOctets(reader) : undefined;
  const refreshDeletes = reader.offset < end && reader.peek() === Ber.Boolean ? (reader.readBoolean() ?? false) : false;
  return { refreshDeletes, ...(cookie ? { cookie } : {}) };
}

export class SyncDecodeError extends Error {
  override readonly name = 'SyncDecodeError';
}

function optionalOctets(reader: BerReader): Buffer | undefined {
  return reader.peek() === Ber.OctetString ? (reader.readString(Ber.OctetString, true) ?? undefined) : undefined;
}

function expect<T>(value: T | null, what: string): T {
  if (value === null) throw new SyncDecodeError(`${what} is truncated`);
  return value;
}

function formatUuid(bytes: Buffer): string {
  if (bytes.length !== 16) throw new SyncDecodeError(`syncUUID has ${bytes.length} bytes, not 16`);
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
