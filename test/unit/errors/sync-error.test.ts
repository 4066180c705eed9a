import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RecordError, SyncError, wrapPluginError } from '../../../src/errors/index.js';

describe('errors', () => {
  it('keeps kind and code when a plugin error crosses the boundary, and names the plugin', () => {
    const original = new RecordError('PUBSYNC_ERR_SINK_REJECTED', 'bad value');
    const wrapped = wrapPluginError(original, 'couchdb:cms', 'apply');
    assert.equal(wrapped.kind, 'record');
    assert.equal(wrapped.code, 'PUBSYNC_ERR_SINK_REJECTED');
    assert.equal(wrapped.plugin, 'couchdb:cms');
    assert.match(wrapped.message, /^\[couchdb:cms\] /);
  });

  it('treats an unknown throw as transient, with the plugin and hook named and the cause kept', () => {
    const cause = new TypeError('boom');
    const wrapped = wrapPluginError(cause, 'ldap:dir', 'start');
    assert.ok(wrapped instanceof SyncError);
    assert.equal(wrapped.kind, 'transient');
    assert.equal(wrapped.code, 'PUBSYNC_ERR_PLUGIN_FAILED');
    assert.equal(wrapped.cause, cause);
    assert.match(wrapped.message, /\[ldap:dir\] start failed: boom/);
  });
});
