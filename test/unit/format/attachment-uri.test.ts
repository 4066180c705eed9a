import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { attachmentUri, parseAttachmentUri } from '../../../src/format/attachment-uri.js';

const SHA = 'a'.repeat(64);

describe('attachment URIs', () => {
  it('round-trips the full JID, the entry id and a name that needs escaping', () => {
    const ref = { jid: 'alpha@example.org/pubsync', entry: 'urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e', name: 'my photo;1?.jpg', sha256: SHA };
    const uri = attachmentUri(ref);
    assert.match(uri, /^xmpp:alpha@example\.org\/pubsync\?pubsync;attachment;entry=/);
    assert.deepEqual(parseAttachmentUri(uri), ref);
  });

  it('rejects what is not one of ours', () => {
    for (const href of [
      'https://example.org/a.bin',
      'xmpp:a@b?pubsync;attachment=' + SHA,
      `xmpp:a@b?pubsync;attachment;entry=x;name=n;sha256=${'A'.repeat(64)}`,
      `xmpp:a@b?pubsync;attachment;entry=x;sha256=${SHA}`,
      `xmpp:nodomain?pubsync;attachment;entry=x;name=n;sha256=${SHA}`,
      `xmpp:a@b?pubsync;attachment;entry=%E0;name=n;sha256=${SHA}`,
    ]) {
      assert.equal(parseAttachmentUri(href), undefined, href);
    }
  });
});
