import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSyncError, type SyncError } from '../../../src/errors/index.js';
import { SefCompiler } from '../../../src/transform/index.js';

const XSL_NS = 'http://www.w3.org/1999/XSL/Transform';

function stylesheet(body: string, extraNs = ''): string {
  return `<xsl:stylesheet version="3.0" xmlns:xsl="${XSL_NS}"${extraNs}>\n${body}\n</xsl:stylesheet>\n`;
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pubsync-sef-'));
});
after(() => rm(dir, { recursive: true, force: true }));

async function write(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

async function compileError(compiler: SefCompiler, path: string): Promise<SyncError> {
  try {
    await compiler.compile(path);
  } catch (error) {
    assert.ok(isSyncError(error), `a SyncError, got ${String(error)}`);
    return error;
  }
  assert.fail(`${path} compiled`);
}

describe('SefCompiler', () => {
  it('compiles once and hits the on-disk cache after a restart (a new compiler on the same folder)', async () => {
    const cacheDir = join(dir, 'cache-restart');
    const path = await write('a.xsl', stylesheet('<xsl:template match="/"><r/></xsl:template>'));
    const first = await new SefCompiler({ cacheDir }).compile(path);
    assert.equal(first.cached, false);
    assert.match(first.sef, /"N":"package"/);
    const afterRestart = await new SefCompiler({ cacheDir }).compile(path);
    assert.equal(afterRestart.cached, true);
    assert.equal(afterRestart.key, first.key);
    assert.equal(afterRestart.sef, first.sef);
    assert.deepEqual(await readdir(cacheDir), [`${first.key}.sef.json`], 'one SEF, no temporary files left');
  });

  it('keys the cache on the content of imported modules too', async () => {
    const cacheDir = join(dir, 'cache-imports');
    const compiler = new SefCompiler({ cacheDir });
    await write('lib.xsl', stylesheet('<xsl:template match="/"><one/></xsl:template>'));
    const main = await write('main.xsl', stylesheet('<xsl:import href="lib.xsl"/>'));
    const before = await compiler.compile(main);
    await write('lib.xsl', stylesheet('<xsl:template match="/"><two/></xsl:template>'));
    const after = await compiler.compile(main);
    assert.notEqual(after.key, before.key);
    assert.equal(after.cached, false);
    assert.match(after.sef, /"name":"two"/);
  });

  it('reports a syntax error in XPath with its code and line', async () => {
    const path = await write('bad-xpath.xsl', stylesheet('<xsl:template match="/">\n  <r><xsl:value-of select="1 +"/></r>\n</xsl:template>'));
    const error = await compileError(new SefCompiler({ cacheDir: join(dir, 'c1') }), path);
    assert.equal(error.code, 'PUBSYNC_ERR_TRANSFORM_COMPILE_FAILED');
    assert.equal(error.kind, 'config');
    assert.equal(error.details.xsltCode, 'XPST0003');
    assert.equal(error.details.line, 3);
    assert.equal(error.details.stylesheet, path);
    assert.match(error.message, /bad-xpath\.xsl:3: XPST0003/);
  });

  it('reports malformed XML with its line and column', async () => {
    const path = await write('bad-xml.xsl', stylesheet('<xsl:template match="/">\n  <r></x>\n</xsl:template>'));
    const error = await compileError(new SefCompiler({ cacheDir: join(dir, 'c2') }), path);
    assert.equal(error.details.xsltCode, 'FODC0002');
    assert.equal(error.details.line, 3);
    assert.equal(typeof error.details.column, 'number');
  });

  it('reports an unknown function (a static error)', async () => {
    const path = await write('unknown-fn.xsl', stylesheet('<xsl:template match="/"><r><xsl:value-of select="nosuch(1)"/></r></xsl:template>'));
    const error = await compileError(new SefCompiler({ cacheDir: join(dir, 'c3') }), path);
    assert.equal(error.details.xsltCode, 'XPST0017');
  });

  it('compiles under the permission model: a use-when that reads a file is refused at compile time', async () => {
    const path = await write(
      'use-when.xsl',
      stylesheet(
        `<xsl:template match="/" use-when="unparsed-text-available('file:///etc/passwd')"><readable/></xsl:template>\n` +
          `<xsl:template match="/" use-when="not(unparsed-text-available('file:///etc/passwd'))"><refused/></xsl:template>`,
      ),
    );
    const compiled = await new SefCompiler({ cacheDir: join(dir, 'c4') }).compile(path);
    assert.match(compiled.sef, /"name":"refused"/);
    assert.doesNotMatch(compiled.sef, /"name":"readable"/);
  });
});
