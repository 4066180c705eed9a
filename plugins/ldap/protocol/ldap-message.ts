import { Ber, BerReader, SearchEntry } from 'ldapts';

/**
 * Framing and decoding of the LDAP responses we read off the socket ourselves. ldapts's own
 * parser aborts on IntermediateResponse (0x79, which RFC 4533 persist uses) and drops per-entry
 * controls, so the consumer decodes LDAPMessages here, reusing ldapts's BER reader and SearchEntry.
 */

export const Op = {
  bindResponse: 0x61,
  searchEntry: 0x64,
  searchDone: 0x65,
  modifyResponse: 0x67,
  addResponse: 0x69,
  deleteResponse: 0x6b,
  modifyDnResponse: 0x6d,
  searchReference: 0x73,
  extendedResponse: 0x78,
  intermediateResponse: 0x79,
} as const;

const CONTROLS_TAG = Ber.Context | Ber.Constructor | 0;
const INTERMEDIATE_NAME_TAG = Ber.Context | 0;
const INTERMEDIATE_VALUE_TAG = Ber.Context | 1;

export interface ResponseControl {
  readonly type: string;
  readonly critical: boolean;
  readonly value?: Buffer;
}

export interface RawAttribute {
  readonly type: string;
  /** Raw bytes: binary values and values with newlines arrive exactly as stored. */
  readonly values: readonly Buffer[];
}

export type LdapResponse =
  | { readonly kind: 'entry'; readonly messageId: number; readonly dn: string; readonly attributes: readonly RawAttribute[]; readonly controls: readonly ResponseControl[] }
  | { readonly kind: 'reference'; readonly messageId: number; readonly controls: readonly ResponseControl[] }
  | { readonly kind: 'intermediate'; readonly messageId: number; readonly name?: string; readonly value?: Buffer; readonly controls: readonly ResponseControl[] }
  | {
      readonly kind: 'result';
      readonly messageId: number;
      readonly op: number;
      readonly resultCode: number;
      readonly matchedDn: string;
      readonly diagnostic: string;
      readonly controls: readonly ResponseControl[];
    };

export class LdapProtocolError extends Error {
  override readonly name = 'LdapProtocolError';
}

/** Maximum size of one LDAPMessage we accept: a bound on memory against a hostile or broken peer. */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/**
 * Size in bytes of the LDAPMessage at the start of `buffer` (tag + length + content), or
 * undefined when not enough bytes arrived yet to tell.
 */
export function frameSize(buffer: Buffer): number | undefined {
  if (buffer.length < 2) return undefined;
  if (buffer[0] !== (Ber.Sequence | Ber.Constructor)) {
    throw new LdapProtocolError(`LDAPMessage must start with 0x30, got 0x${(buffer[0] ?? 0).toString(16)}`);
  }
  const first = buffer[1] ?? 0;
  if (first < 0x80) return 2 + first;
  const count = first & 0x7f;
  if (count === 0 || count > 4) throw new LdapProtocolError(`LDAPMessage length uses ${count} bytes`);
  if (buffer.length < 2 + count) return undefined;
  let length = 0;
  for (let i = 0; i < count; i++) length = length * 256 + (buffer[2 + i] ?? 0);
  if (length > MAX_MESSAGE_BYTES) throw new LdapProtocolError(`LDAPMessage of ${length} bytes exceeds ${MAX_MESSAGE_BYTES}`);
  return 2 + count + length;
}

/** Decodes one complete LDAPMessage (as delimited by frameSize). */
export function decodeResponse(frame: Buffer): LdapResponse {
  const reader = new BerReader(frame);
  need(reader.readSequence(Ber.Sequence | Ber.Constructor), 'LDAPMessage');
  const messageId = need(reader.readInt(), 'messageID');
  const op = need(reader.readSequence(), 'protocolOp');
  const opEnd = reader.offset + reader.length;
  const body = decodeBody(reader, op, messageId, opEnd);
  reader.offset = opEnd;
  const controls = reader.offset < frame.length && reader.peek() === CONTROLS_TAG ? decodeControls(reader) : [];
  return { ...body, controls };
}

type Body = DistributiveOmit<LdapResponse, 'controls'>;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

function decodeBody(reader: BerReader, op: number, messageId: number, opEnd: number): Body {
  switch (op) {
    case Op.searchEntry: {
      const entry = new SearchEntry({ messageId });
      entry.parseMessage(reader);
      const attributes = entry.attributes.map((attribute) => ({ type: attribute.type, values: attribute.parsedBuffers }));
      return { kind: 'entry', messageId, dn: entry.name, attributes };
    }
    case Op.searchReference:
      return { kind: 'reference', messageId };
    case Op.intermediateResponse: {
      let name: string | undefined;
      let value: Buffer | undefined;
      if (reader.offset < opEnd && reader.peek() === INTERMEDIATE_NAME_TAG) {
        name = need(reader.readString(INTERMEDIATE_NAME_TAG), 'responseName');
      }
      if (reader.offset < opEnd && reader.peek() === INTERMEDIATE_VALUE_TAG) {
        value = need(reader.readString(INTERMEDIATE_VALUE_TAG, true), 'responseValue');
      }
      return { kind: 'intermediate', messageId, ...(name === undefined ? {} : { name }), ...(value ? { value } : {}) };
    }
    case Op.bindResponse:
    case Op.searchDone:
    case Op.modifyResponse:
    case Op.addResponse:
    case Op.deleteResponse:
    case Op.modifyDnResponse:
    case Op.extendedResponse: {
      const resultCode = need(reader.readEnumeration(), 'resultCode');
      const matchedDn = need(reader.readString(), 'matchedDN');
      const diagnostic = need(reader.readString(), 'diagnosticMessage');
      return { kind: 'result', messageId, op, resultCode, matchedDn, diagnostic };
    }
    default:
      throw new LdapProtocolError(`unsupported protocolOp 0x${op.toString(16)} in message ${messageId}`);
  }
}

function decodeControls(reader: BerReader): ResponseControl[] {
  need(reader.readSequence(CONTROLS_TAG), 'controls');
  const end = reader.offset + reader.length;
  const controls: ResponseControl[] = [];
  while (reader.offset < end) {
    need(reader.readSequence(Ber.Sequence | Ber.Constructor), 'control');
    const controlEnd = reader.offset + reader.length;
    const type = need(reader.readString(), 'controlType');
    let critical = false;
    let value: Buffer | undefined;
    if (reader.offset < controlEnd && reader.peek() === Ber.Boolean) critical = need(reader.readBoolean(), 'criticality');
    if (reader.offset < controlEnd) value = need(reader.readString(Ber.OctetString, true), 'controlValue');
    reader.offset = controlEnd;
    controls.push({ type, critical, ...(value ? { value } : {}) });
  }
  return controls;
}

function need<T>(value: T | null, what: string): T {
  if (value === null) throw new LdapProtocolError(`${what} is truncated`);
  return value;
}
