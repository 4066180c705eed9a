import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BerWriter } from 'ldapts';
import { LdapProtocolError, decodeResponse, frameSize } from '../../../plugins/ldap/protocol/ldap-message.js';
import { SYNC_INFO_OID, SYNC_STATE_OID, decodeSyncInfo, decodeSyncState } from '../../../plugins/ldap/protocol/sync-controls.js';

const UUID = Buffer.from('0123456789abcdef0123456789abcdef', 'hex');

/** An LDAPMessage as a server would send it, built with ldapts's BER writer. */
function message(id: number, build: (writer: BerWriter) => void, controls?: (writer: BerWriter) => void): Buffer {
  const writer = new BerWriter();
  writer.startSequence();
  writer.writeInt(id);
  build(writer);
  if (controls) {
    writer.startSequence(0xa0);
    controls(writer);
    writer.endSequence();
  }
  writer.endSequence();
  return writer.buffer;
}

function syncStateValue(state: number): Buffer {
  const writer = new BerWriter();
  writer.startSequence();
  writer.writeEnumeration(state);
  writer.writeBuffer(UUID, 0x04);
  writer.endSequence();
  return writer.buffer;
}

const binary = Buffer.from([0x00, 0x80, 0xff, 0x0a]);

const searchEntry = message(
  7,
  (w) => {
    w.startSequence(0x64);
    w.writeString('reqStart=20261121232129.266762Z,cn=accesslog');
    w.startSequence();
    w.startSequence();
    w.writeString('reqMod');
    w.startSequence(0x31);
    w.writeBuffer(Buffer.concat([Buffer.from('jpegPhoto:+ '), binary]), 0x04);
    w.writeString('description:+ a\nb');
    w.endSequence();
    w.endSequence();
    w.endSequence();
    w.endSequence();
  },
  (w) => {
    w.startSequence();
    w.writeString(SYNC_STATE_OID);
    w.writeBuffer(syncStateValue(1), 0x04);
    w.endSequence();
  },
);

const intermediate = message(7, (w) => {
  w.startSequence(0x79);
  w.writeString(SYNC_INFO_OID, 0x80);
  w.writeBuffer(Buffer.from('\x80\x03abc', 'latin1'), 0x81);
  w.endSequence();
});

const done = message(9, (w) => {
  w.startSequence(0x65);
  w.writeEnumeration(32);
  w.writeString('ou=people,dc=example,dc=org');
  w.writeString('no such entry');
  w.endSequence();
});

describe('LDAP response framing and decoding', () => {
  it('decodes a search entry with raw byte values and its sync state control', () => {
    const response = decodeResponse(searchEntry);
    assert.equal(response.kind, 'entry');
    assert.equal(response.messageId, 7);
    assert.equal(response.dn, 'reqStart=20261121232129.266762Z,cn=accesslog');
    const values = response.attributes[0]?.values ?? [];
    assert.deepEqual(values[0], Buffer.concat([Buffer.from('jpegPhoto:+ '), binary]));
    assert.equal(values[1]?.toString(), 'description:+ a\nb');
    const control = response.controls[0];
    assert.equal(control?.type, SYNC_STATE_OID);
    assert.equal(decodeSyncState(control.value ?? Buffer.alloc(0)).state, 'add');
  });

  it('decodes an IntermediateResponse (0x79), which ldapts rejects', () => {
    const response = decodeResponse(intermediate);
    assert.equal(response.kind, 'intermediate');
    assert.equal(response.name, SYNC_INFO_OID);
    assert.deepEqual(decodeSyncInfo(response.value ?? Buffer.alloc(0)), { kind: 'newcookie', cookie: Buffer.from('abc') });
  });

  it('decodes an LDAPResult with its code, matched DN and message', () => {
    const response = decodeResponse(done);
    assert.deepEqual(
      { ...response, controls: [...response.controls] },
      { kind: 'result', messageId: 9, op: 0x65, resultCode: 32, matchedDn: 'ou=people,dc=example,dc=org', diagnostic: 'no such entry', controls: [] },
    );
  });

  it('tells a complete frame from a partial one, byte by byte', () => {
    const stream = Buffer.concat([searchEntry, intermediate, done]);
    assert.equal(frameSize(stream), searchEntry.length);
    for (let cut = 0; cut < 2; cut++) assert.equal(frameSize(stream.subarray(0, cut)), undefined);
    // Long-form length (an entry over 127 bytes) needs its length bytes before it can be sized.
    assert.ok(searchEntry.length > 127);
    assert.equal(frameSize(searchEntry.subarray(0, 2)), undefined);
    assert.equal(frameSize(searchEntry.subarray(0, 4)), searchEntry.length);
  });

  it('refuses what is not an LDAPMessage, and an unknown protocolOp', () => {
    assert.throws(() => frameSize(Buffer.from([0x31, 0x00])), LdapProtocolError);
    assert.throws(() => frameSize(Buffer.from([0x30, 0x85, 1, 2, 3, 4, 5])), /length uses 5 bytes/);
    const unknown = message(1, (w) => {
      w.startSequence(0x7a);
      w.endSequence();
    });
    assert.throws(() => decodeResponse(unknown), /unsupported protocolOp 0x7a/);
  });
});
