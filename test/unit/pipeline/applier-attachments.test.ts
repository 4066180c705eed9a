import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { pino } from 'pino';
import { ErrorCodes, SyncError } from '../../../src/errors/index.js';
import { serializeEntry } from '../../../src/format/index.js';
import type { Attachment, Entry } from '../../../src/format/model.js';
import { Applier } from '../../../src/pipeline/applier.js';
import type { AttachmentResolver } from '../../../src/pipeline/attachment-resolver.js';
import { openStateStore } from '../../../src/state/index.js';
import type { StateStore } from '../../../src/state/state-store.js';
import { csn, objectEntry } from '../../support/entries.js';
import { MemorySink } from '../../support/memory-plugins.js';

const BYTES = new Uint8Array([1, 2, 3, 4]);
const [ID1, ID2, ID3, ID4] = [1, 2, 3, 4].map((n) => `urn:uuid:0000000${n}-0000-4000-8000-000000000000`) as [string, string, string, string];

function referenced(name: string, at: string): Attachment {
  return { name, contentType: 'application/octet-stream', length: 4, sha256: 'f'.repeat(64), csn: at, href: `xmpp:a@localhost/pubsync?pubsync;attachment;entry=x;name=${name};sha256=${'f'.repeat(64)}` };
}

/** A resolver scripted by the test (the XMPP one is tested against Prosody in test/integration/couchdb). */
class ScriptedResolver implements AttachmentResolver {
  readonly asked: string[] = [];
  failure: SyncError | undefined;
  resolve(attachment: Attachment, entry: Entry): Promise<Uint8Array> {
    this.asked.push(`${entry.id}/${attachment.name}`);
    return this.failure ? Promise.reject(this.failure) : Promise.resolve(BYTES);
  }
}

describe('Applier: attachments by reference', () => {
  let dir: string;
  let store: StateStore;
  let sink: MemorySink;
  let resolver: ScriptedResolver;
  let applier: Applier;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pubsync-applier-att-'));
    store = openStateStore(join(dir, 'state.db'));
    sink = new MemorySink();
    resolver = new ScriptedResolver();
    applier = new Applier({ subscription: 's', sinkName: 'out', sink, store, serialize: serializeEntry, logger: pino({ level: 'silent' }), attachments: resolver });
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('hands the sink the fetched bytes, and does not fetch again an attachment revision the sink applied', async () => {
    const first = objectEntry({ id: ID1, csn: csn(1), attachments: [referenced('a.bin', csn(1))] });
    assert.equal((await applier.apply([first], new AbortController().signal)).applied, 1);
    assert.deepEqual(sink.calls[0]?.[0]?.entry.deleted === false && sink.calls[0][0].entry.attachments[0]?.data, BYTES);
    const second = objectEntry({ id: ID1, csn: csn(2), attachments: [referenced('a.bin', csn(1))] });
    await applier.apply([second], new AbortController().signal);
    assert.deepEqual(resolver.asked, [`${ID1}/a.bin`]);
  });

  it('dead-letters an entry whose attachment is refused, and applies the rest of the batch', async () => {
    resolver.failure = new SyncError(ErrorCodes.ATTACHMENT_MISMATCH, 'record', 'digest differs');
    const bad = objectEntry({ id: ID2, csn: csn(1), attachments: [referenced('a.bin', csn(1))] });
    const good = objectEntry({ id: ID3, csn: csn(1) });
    const report = await applier.apply([bad, good], new AbortController().signal);
    assert.equal(report.deadLettered, 1);
    assert.equal(report.applied, 1);
    const [letter] = store.listDeadLetters();
    assert.equal(letter?.code, ErrorCodes.ATTACHMENT_MISMATCH);
    assert.equal(letter?.entryId, ID2);
  });

  it('throws when the origin is unreachable, so the batch is retried, and records nothing', async () => {
    resolver.failure = new SyncError(ErrorCodes.ATTACHMENT_UNAVAILABLE, 'transient', 'origin offline');
    const entry = objectEntry({ id: ID4, csn: csn(1), attachments: [referenced('a.bin', csn(1))] });
    await assert.rejects(applier.apply([entry], new AbortController().signal, { origin: 'a@localhost', seq: 5n }), /origin offline/);
    assert.equal(store.countDeadLetters(), 0);
    assert.equal(store.getHighWater('s', 'a@localhost'), 0n);
    assert.equal(sink.calls.length, 0);
  });
});
