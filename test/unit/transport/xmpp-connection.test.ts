import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCodes } from '../../../src/errors/codes.js';
import { chooseMechanism, isLoopback } from '../../../src/transport/xmpp-connection.js';

describe('SASL mechanism choice', () => {
  it('takes SCRAM whenever offered, even where PLAIN is allowed', () => {
    assert.equal(chooseMechanism(['PLAIN', 'SCRAM-SHA-1'], true), 'SCRAM-SHA-1');
  });
  it('takes PLAIN only when allowed (TLS or loopback)', () => {
    assert.equal(chooseMechanism(['PLAIN'], true), 'PLAIN');
    assert.throws(() => chooseMechanism(['PLAIN'], false), { code: ErrorCodes.XMPP_INSECURE, message: /no acceptable SASL mechanism among PLAIN/ });
  });
});

describe('loopback detection', () => {
  it('knows the loopback names and nothing else', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '[::1]', '::1']) assert.equal(isLoopback(host), true, host);
    for (const host of ['10.0.0.1', 'example.org', '::2', '128.0.0.1']) assert.equal(isLoopback(host), false, host);
  });
});
