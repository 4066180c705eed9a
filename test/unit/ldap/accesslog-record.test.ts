import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AccesslogFormatError,
  isWithin,
  parentOf,
  parseReqMod,
  parseReqOld,
  rdnAttributes,
  recordOf,
} from '../../../plugins/ldap/accesslog-record.js';
import { cookieOf, formatCookie, parseCheckpoint } from '../../../plugins/ldap/cursor.js';
import { escapeDnValue, escapeFilterValue } from '../../../plugins/ldap/filter-escape.js';
import { valueDelta } from '../../../plugins/ldap/ldap-sink.js';

const b = (text: string): Buffer => Buffer.from(text);

describe('accesslog reqMod parsing', () => {
  it('groups consecutive values of one attribute and operation, keeping raw bytes', () => {
    const photo = Buffer.from([0xff, 0x00, 0x0a, 0x80]);
    const mods = parseReqMod([
      b('mail:+ a@example.org'),
      b('mail:+ b@example.org'),
      Buffer.concat([b('jpegPhoto:= '), photo]),
      b('description:+ line one\nline two'),
      b('telephoneNumber:-'),
      b('title:='),
      b('uidNumber:# 1'),
      b('mail:+ c@example.org'),
    ]);
    assert.deepEqual(mods, [
      { type: 'mail', operation: 'add', values: [b('a@example.org'), b('b@example.org')] },
      { type: 'jpegPhoto', operation: 'replace', values: [photo] },
      { type: 'description', operation: 'add', values: [b('line one\nline two')] },
      { type: 'telephoneNumber', operation: 'delete', values: [] },
      { type: 'title', operation: 'replace', values: [] },
      { type: 'uidNumber', operation: 'increment', values: [b('1')] },
      { type: 'mail', operation: 'add', values: [b('c@example.org')] },
    ]);
  });

  it('keeps a value that itself holds a colon or starts with a space', () => {
    assert.deepEqual(parseReqMod([b('labeledURI:+  http://x:80/')])[0]?.values, [b(' http://x:80/')]);
  });

  it('names the bad value when a reqMod is malformed', () => {
    assert.throws(() => parseReqMod([b('no operation here')]), AccesslogFormatError);
    assert.throws(() => parseReqMod([b('cn:? x')]), /cn:\? x/);
  });

  it('parses reqOld into attributes', () => {
    assert.deepEqual(parseReqOld([b('cn: a'), b('cn: b'), b('description: x\ny')]), [
      { type: 'cn', values: [b('a'), b('b')] },
      { type: 'description', values: [b('x\ny')] },
    ]);
  });

  it('reads a modrdn record and derives the new DN when reqNewDN is absent', () => {
    const record = recordOf({
      dn: 'reqStart=1,cn=accesslog',
      attributes: [
        { type: 'reqType', values: [b('modrdn')] },
        { type: 'reqDN', values: [b('cn=Ada,ou=people,dc=example,dc=org')] },
        { type: 'reqNewRDN', values: [b('cn=Augusta')] },
        { type: 'entryCSN', values: [b('20261121232129.311135Z#000000#000#000000')] },
      ],
    });
    assert.equal(record.newDn, 'cn=Augusta,ou=people,dc=example,dc=org');
    assert.throws(() => recordOf({ dn: 'x', attributes: [{ type: 'reqType', values: [b('bind')] }] }), /reqType "bind"/);
  });
});

describe('DN and filter helpers', () => {
  it('splits DNs at unescaped commas and compares them loosely', () => {
    assert.equal(parentOf('cn=Doe\\, John,ou=people,dc=example,dc=org'), 'ou=people,dc=example,dc=org');
    assert.deepEqual(rdnAttributes('cn=a+sn=b'), ['cn', 'sn']);
    assert.ok(isWithin('CN=x, OU=People,dc=Example,dc=org', 'ou=people,dc=example,dc=org'));
    assert.ok(!isWithin('cn=x,ou=peoples,dc=example,dc=org', 'ou=people,dc=example,dc=org'));
  });

  it('escapes filter and DN values', () => {
    assert.equal(escapeFilterValue('a*(b)\\'), 'a\\2a\\28b\\29\\5c');
    assert.equal(escapeDnValue('Doe, John'), 'Doe\\, John');
    assert.equal(escapeDnValue('#lead and trail '), '\\#lead and trail\\ ');
  });
});

describe('sync cookie checkpoints', () => {
  it('round-trips cursors, with the resync mark', () => {
    const csn = '20261121232129.311135Z#000000#000#000000';
    assert.equal(formatCookie({ csn, resync: false }), `rid=000,csn=${csn}`);
    assert.deepEqual(parseCheckpoint(formatCookie({ csn, resync: true })), { csn, resync: true });
    assert.deepEqual(parseCheckpoint('rid=000'), { csn: undefined, resync: false });
    assert.equal(parseCheckpoint('42'), undefined);
  });

  it('takes the newest CSN of a multi-server cookie', () => {
    assert.equal(cookieOf(b('rid=000,csn=20260101000000.000000Z#000000#001#000000;20261121000000.000000Z#000000#002#000000')), '20261121000000.000000Z#000000#002#000000');
  });
});

describe('sink value deltas', () => {
  it('deletes and adds single values, and replaces when one side is empty', () => {
    assert.deepEqual(valueDelta('member', [b('a'), b('b')], [b('b'), b('c')]), [
      { operation: 'delete', type: 'member', values: [b('a')] },
      { operation: 'add', type: 'member', values: [b('c')] },
    ]);
    assert.deepEqual(valueDelta('l', [], [b('x')]), [{ operation: 'replace', type: 'l', values: [b('x')] }]);
    assert.deepEqual(valueDelta('l', [b('x')], []), [{ operation: 'replace', type: 'l', values: [] }]);
  });
});
