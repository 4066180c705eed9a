import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSyncError, type SyncError } from '../../../src/errors/index.js';
import type { Entry, ObjectEntry } from '../../../src/format/model.js';
import { objectEntry, tombstoneEntry } from '../../../src/testing/entries.js';
import { createXsltTransform, SefCompiler, type XsltTransform } from '../../../src/transform/index.js';

/**
 * A stylesheet whose behaviour each entry picks by its title: 'drop' (filtered out), 'split' (one
 * entry becomes two), 'fail' (a dynamic error on line 21), 'stop' (xsl:message terminate with an
 * error code), 'bad' (output that is not a valid entry), 'loop' (never ends). Other entries get
 * the $suffix param appended to their title.
 */
const MAPPING = `<?xml version="1.0"?>
<xsl:stylesheet version="3.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:atom="http://www.w3.org/2005/Atom"
    xmlns:ps="urn:xmpp:pubsync:entry:1" exclude-result-prefixes="#all">
  <xsl:param name="suffix" as="xs:string" select="''"/>
  <xsl:mode on-no-match="shallow-copy"/>
  <xsl:template match="atom:entry[atom:title = 'drop']"/>
  <xsl:template match="atom:entry[atom:title = 'split']">
    <xsl:next-match/>
    <xsl:apply-templates select="." mode="second"/>
  </xsl:template>
  <xsl:mode name="second" on-no-match="shallow-copy"/>
  <xsl:template match="atom:id" mode="second">
    <xsl:copy>{replace(., '.$', if (ends-with(., '0')) then '1' else '0')}</xsl:copy>
  </xsl:template>
  <xsl:template match="atom:title[not(. = ('drop', 'split', 'fail', 'stop', 'bad', 'loop'))]">
    <xsl:copy>{. || $suffix}</xsl:copy>
  </xsl:template>
  <xsl:template match="atom:entry[atom:title = 'fail']">
    <xsl:copy>
      <xsl:value-of select="1 idiv count(ps:nothing)"/>
    </xsl:copy>
  </xsl:template>
  <xsl:template match="atom:entry[atom:title = 'stop']">
    <xsl:message terminate="yes" error-code="Q{{urn:example}}E42">refusing {atom:id}</xsl:message>
  </xsl:template>
  <xsl:template match="atom:entry[atom:title = 'bad']//ps:origin"/>
  <xsl:template match="atom:entry[atom:title = 'loop']">
    <xsl:value-of select="sum((1 to 1000000000000) ! (. mod 7))"/>
  </xsl:template>
</xsl:stylesheet>
`.replace('<xsl:stylesheet version="3.0"', '<xsl:stylesheet version="3.0" expand-text="yes"');

let dir: string;
let stylesheet: string;
let transform: XsltTransform;
const compiler = new SefCompiler({ cacheDir: join(tmpdir(), 'pubsync-test-xslt-cache') });
const signal = () => AbortSignal.timeout(30_000);

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pubsync-xslt-'));
  stylesheet = join(dir, 'mapping.xsl');
  await writeFile(stylesheet, MAPPING);
  transform = createXsltTransform({ stylesheet, params: { suffix: ' (mapped)' }, compiler, timeoutMs: 1_500 });
  await transform.start();
});
after(async () => {
  await transform.close();
  await rm(dir, { recursive: true, force: true });
});

async function failure(entries: readonly Entry[]): Promise<SyncError> {
  try {
    await transform.apply(entries, signal());
  } catch (error) {
    assert.ok(isSyncError(error), `a SyncError, got ${String(error)}`);
    return error;
  }
  assert.fail('the transform succeeded');
}

const titled = (title: string): ObjectEntry => objectEntry({ title, fields: { a: 'b' } });

describe('createXsltTransform', () => {
  it('runs the whole batch through the stylesheet with its params; tombstones pass', async () => {
    const entries = [titled('one'), titled('two'), tombstoneEntry()];
    const out = await transform.apply(entries, signal());
    assert.deepEqual(
      out.map((entry) => (entry.deleted ? 'tombstone' : entry.title)),
      ['one (mapped)', 'two (mapped)', 'tombstone'],
    );
    assert.deepEqual({ ...out[0], title: 'one' }, entries[0], 'everything else is kept');
  });

  it('maps an entry to none (a filter) or to several', async () => {
    const split = titled('split');
    const out = await transform.apply([titled('drop'), split], signal());
    assert.equal(out.length, 2);
    assert.equal(out[0]?.id, split.id);
    assert.notEqual(out[1]?.id, split.id);
    assert.deepEqual(await transform.apply([titled('drop')], signal()), []);
  });

  it('returns nothing for an empty batch', async () => {
    assert.deepEqual(await transform.apply([], signal()), []);
  });

  it('a dynamic error is a record error with the XSLT code, line and stylesheet', async () => {
    const entry = titled('fail');
    const error = await failure([entry]);
    assert.equal(error.code, 'PUBSYNC_ERR_TRANSFORM_FAILED');
    assert.equal(error.kind, 'record');
    assert.equal(error.details.xsltCode, 'FOAR0001');
    assert.equal(error.details.line, 21);
    assert.equal(error.details.stylesheet, stylesheet);
    assert.equal(error.details.entryId, entry.id);
    assert.match(error.message, /mapping\.xsl:21 failed: FOAR0001/);
  });

  it('xsl:message terminate carries its error code and the message text', async () => {
    const entry = titled('stop');
    const error = await failure([entry]);
    assert.equal(error.details.xsltCode, 'Q{urn:example}E42');
    assert.deepEqual(error.details.messages, [`refusing ${entry.id}`]);
  });

  it('output that is not a valid entry is a record error naming the format problem', async () => {
    const error = await failure([titled('bad')]);
    assert.equal(error.code, 'PUBSYNC_ERR_TRANSFORM_FAILED');
    assert.equal(error.kind, 'record');
    assert.match(String(error.details.outputError), /^PUBSYNC_ERR_FORMAT_/);
    assert.match(error.message, /produced an invalid feed/);
  });

  it('a runaway transform is stopped at the time limit as a record error, and the next batch works', async () => {
    const error = await failure([titled('loop')]);
    assert.equal(error.kind, 'record');
    assert.equal(error.details.xsltCode, 'TIMEOUT');
    const out = await transform.apply([titled('after')], signal());
    assert.equal((out[0] as ObjectEntry).title, 'after (mapped)');
  });

  it('start() of a stylesheet that does not compile throws the config error with its line', async () => {
    const broken = join(dir, 'broken.xsl');
    await writeFile(broken, '<xsl:stylesheet version="3.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">\n<xsl:template match="/"><xsl:value-of select="("/></xsl:template>\n</xsl:stylesheet>\n');
    const bad = createXsltTransform({ stylesheet: broken, compiler });
    try {
      await assert.rejects(bad.start(), (error: unknown) => {
        assert.ok(isSyncError(error));
        assert.equal(error.kind, 'config');
        assert.equal(error.code, 'PUBSYNC_ERR_TRANSFORM_COMPILE_FAILED');
        assert.equal(error.details.line, 2);
        return true;
      });
    } finally {
      await bad.close();
    }
  });
});
