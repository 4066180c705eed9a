import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serializeEntry } from '../../../src/format/index.js';
import { Applier } from '../../../src/pipeline/applier.js';
import { openStateStore, type SqliteStateStore } from '../../../src/state/index.js';
import { objectEntry } from '../../../src/testing/entries.js';
import { createXsltTransform, SefCompiler, type XsltTransform } from '../../../src/transform/index.js';
import { MemorySink } from '../../support/memory-plugins.js';
import { silentLogger } from '../../support/pipeline-fixture.js';

/** Renames field a to b; refuses (error()) an entry titled 'poison', on line 5. */
const STYLESHEET = `<xsl:stylesheet version="3.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:atom="http://www.w3.org/2005/Atom" xmlns:ps="urn:xmpp:pubsync:entry:1" expand-text="yes">
  <xsl:mode on-no-match="shallow-copy"/>
  <xsl:template match="atom:entry[atom:title = 'poison']">
    <xsl:sequence select="error(QName('urn:example', 'Poison'), 'poisoned entry ' || atom:id)"/>
  </xsl:template>
  <xsl:template match="ps:field/ps:name[. = 'a'] | ps:changed[. = 'a']"><xsl:copy>b</xsl:copy></xsl:template>
</xsl:stylesheet>
`;

let dir: string;
let store: SqliteStateStore;
let transform: XsltTransform;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pubsync-xslt-applier-'));
  await writeFile(join(dir, 'map.xsl'), STYLESHEET);
  store = openStateStore(join(dir, 'state.db'));
  transform = createXsltTransform({
    stylesheet: join(dir, 'map.xsl'),
    compiler: new SefCompiler({ cacheDir: join(tmpdir(), 'pubsync-test-xslt-cache') }),
  });
  await transform.start();
});
after(async () => {
  await transform.close();
  store.close();
  await rm(dir, { recursive: true, force: true });
});

describe('an XSLT transform in a subscription (Applier, SQLite state store)', () => {
  it('dead-letters the entry that fails with the XSLT code, message and line; the rest of the batch is applied', async () => {
    const sink = new MemorySink();
    const applier = new Applier({ subscription: 'people', sinkName: 'memory', sink, transform, store, serialize: serializeEntry, logger: silentLogger });
    const good1 = objectEntry({ title: 'one', keys: [{ scheme: 'test', value: 'k1' }], fields: { a: '1' } });
    const poison = objectEntry({ title: 'poison', keys: [{ scheme: 'test', value: 'k2' }], fields: { a: '2' } });
    const good2 = objectEntry({ title: 'two', keys: [{ scheme: 'test', value: 'k3' }], fields: { a: '3' } });

    const report = await applier.apply([good1, poison, good2], AbortSignal.timeout(30_000));

    assert.equal(report.applied, 2);
    assert.equal(report.deadLettered, 1);
    assert.deepEqual(sink.objects.get('k1')?.fields, { b: ['1'] }, 'the stylesheet ran on the good entries');
    assert.deepEqual(sink.objects.get('k3')?.fields, { b: ['3'] });
    assert.equal(sink.objects.has('k2'), false);
    const [letter] = store.listDeadLetters();
    assert.ok(letter);
    assert.equal(letter.entryId, poison.id);
    assert.equal(letter.where, 'subscription:people');
    assert.equal(letter.code, 'PUBSYNC_ERR_TRANSFORM_FAILED');
    assert.match(letter.message, new RegExp(`map\\.xsl:5 failed: Q\\{urn:example\\}Poison: poisoned entry ${poison.id}`));
    assert.equal(letter.details?.xsltCode, 'Q{urn:example}Poison');
    assert.equal(letter.details?.line, 5);
    assert.equal(letter.details?.stage, 'transform');
  });
});
