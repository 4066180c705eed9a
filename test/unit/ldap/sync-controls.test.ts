import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BerWriter } from 'ldapts';
import {
  SYNC_REQUEST_OID,
  SyncDecodeError,
  SyncRequestControl,
  decodeSyncDone,
  decodeSyncInfo,
  decodeSyncState,
  encodeSyncRequestValue,
} from '../../../plugins/ldap/protocol/sync-controls.js';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const UUID_BYTES = '0123456789abcdef0123456789abcdef';
const UUID = '01234567-89ab-cdef-0123-456789abcdef';
const COOKIE = Buffer.from('rid=000,csn=20261121232129.311135Z#000000#000#000000');
const octets = (value: Buffer): string => `04${value.length.toString(16).padStart(2, '0')}${value.toString('hex')}`;

describe('RFC 4533 sync request control', () => {
  it('encodes refreshAndPersist with a cookie as SEQUENCE { ENUMERATED 3, OCTET STRING }', () => {
    const body = `0a0103${octets(COOKIE)}`;
    assert.deepEqual(
      encodeSyncRequestValue({ mode: 'refreshAndPersist', cookie: COOKIE }),
      hex(`30${(body.length / 2).toString(16)}${body}`),
    );
  });

  it('encodes refreshOnly without a cookie, and reloadHint only when set', () => {
    assert.deepEqual(encodeSyncRequestValue({ mode: 'refreshOnly' }), hex('3003 0a0101'));
    assert.deepEqual(encodeSyncRequestValue({ mode: 'refreshOnly', reloadHint: true }), hex('3006 0a0101 0101ff'));
  });

  it('keeps cookie bytes of 0x80 and above intact (the ldapjs corruption)', () => {
    const cookie = Buffer.from([0x80, 0xff, 0xc3, 0x28]);
    assert.deepEqual(encodeSyncRequestValue({ mode: 'refreshOnly', cookie }), hex('3009 0a0101 0404 80ffc328'));
  });

  it('is written as a critical control with its OID and the value as an OCTET STRING', () => {
    const writer = new BerWriter();
    new SyncRequestControl({ mode: 'refreshOnly' }).write(writer);
    const oid = Buffer.from(SYNC_REQUEST_OID);
    const body = `${octets(oid)}0101ff 0405 3003 0a0101`.replace(/\s+/g, '');
    assert.deepEqual(writer.buffer, hex(`30${(body.length / 2).toString(16)}${body}`));
  });
});

describe('RFC 4533 sync state, info and done decoding', () => {
  it('decodes a sync state with and without a cookie', () => {
    assert.deepEqual(decodeSyncState(hex(`3015 0a0101 0410${UUID_BYTES}`)), { state: 'add', entryUuid: UUID });
    const withCookie = `0a0103 0410${UUID_BYTES} 0403616263`.replace(/\s+/g, '');
    assert.deepEqual(decodeSyncState(hex(`30${(withCookie.length / 2).toString(16)}${withCookie}`)), {
      state: 'delete',
      entryUuid: UUID,
      cookie: Buffer.from('abc'),
    });
  });

  it('refuses a sync state with an unknown state or a short UUID', () => {
    assert.throws(() => decodeSyncState(hex(`3015 0a0109 0410${UUID_BYTES}`)), SyncDecodeError);
    assert.throws(() => decodeSyncState(hex('3007 0a0101 04020102')), /16/);
  });

  it('decodes each sync info choice', () => {
    assert.deepEqual(decodeSyncInfo(hex('8003616263')), { kind: 'newcookie', cookie: Buffer.from('abc') });
    // refreshDelete with no content: refreshDone DEFAULT TRUE.
    assert.deepEqual(decodeSyncInfo(hex('a100')), { kind: 'refreshDelete', refreshDone: true });
    assert.deepEqual(decodeSyncInfo(hex('a208 0403616263 010100')), {
      kind: 'refreshPresent',
      refreshDone: false,
      cookie: Buffer.from('abc'),
    });
    assert.deepEqual(decodeSyncInfo(hex(`a317 0101ff 3112 0410${UUID_BYTES}`)), {
      kind: 'syncIdSet',
      refreshDeletes: true,
      uuids: [UUID],
    });
  });

  it('refuses an unknown sync info choice', () => {
    assert.throws(() => decodeSyncInfo(hex('a400')), /unknown choice tag 0xa4/);
  });

  it('decodes sync done', () => {
    assert.deepEqual(decodeSyncDone(hex('3000')), { refreshDeletes: false });
    assert.deepEqual(decodeSyncDone(hex('3008 0403616263 0101ff')), { refreshDeletes: true, cookie: Buffer.from('abc') });
  });
});
