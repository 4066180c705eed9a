import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { isSyncError, type SyncError } from '../../../src/errors/index.js';
import { SefCompiler, XsltWorkerPool, type CompiledStylesheet } from '../../../src/transform/index.js';

const XSLT3 = createRequire(import.meta.url).resolve('xslt3/xslt3.js');
const run = promisify(execFile);

const HEADER =
  '<xsl:stylesheet version="3.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"' +
  ' xmlns:js="http://saxonica.com/ns/globalJS" xmlns:ixsl="http://saxonica.com/ns/interactiveXSLT"' +
  ' xmlns:xs="http://www.w3.org/2001/XMLSchema" exclude-result-prefixes="#all">';

function stylesheet(instruction: string): string {
  return `${HEADER}\n<xsl:template match="/">\n<r>${instruction}</r>\n</xsl:template>\n</xsl:stylesheet>\n`;
}

const ATTEMPTS: Readonly<Record<string, string>> = {
  'doc()': `<xsl:value-of select="doc('SECRET_XML')"/>`,
  "doc('file:///etc/passwd')": `<xsl:value-of select="doc('file:///etc/passwd')"/>`,
  'unparsed-text()': `<xsl:value-of select="unparsed-text('file:///etc/passwd')"/>`,
  'unparsed-text(http)': `<xsl:value-of select="unparsed-text('http://127.0.0.1:9/')"/>`,
  'unparsed-text-lines()': `<xsl:value-of select="unparsed-text-lines('file:///etc/passwd')[1]"/>`,
  'json-doc()': `<xsl:value-of select="json-doc('SECRET_JSON')?secret"/>`,
  'collection()': `<xsl:value-of select="collection('SECRET_DIR')"/>`,
  'document()': `<xsl:value-of select="document('SECRET_XML')"/>`,
  'xsl:source-document': `<xsl:source-document href="SECRET_XML"><xsl:value-of select="."/></xsl:source-document>`,
  'xsl:result-document': `<xsl:result-document href="RESULT"><x/></xsl:result-document>`,
  'js:eval()': `<xsl:value-of select="js:eval('1+1')"/>`,
  'ixsl:eval()': `<xsl:value-of select="ixsl:eval('1+1')"/>`,
  'function-lookup()': `<xsl:value-of select="function-lookup(QName('http://www.w3.org/2005/xpath-functions', 'unparsed-text'), 1)('file:///etc/passwd')"/>`,
  'environment-variable()': `<xsl:value-of select="environment-variable('HOME')"/>`,
  'xsl:evaluate': `<xsl:evaluate xpath="'unparsed-text(''file:///etc/passwd'')'"/>`,
};

let dir: string;
let resultFile: string;
const SECRET = 'TOP-SECRET-7f3a';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pubsync-sandbox-'));
  resultFile = join(dir, 'written-by-stylesheet.xml');
  // Well-formed files, so that a read could only fail because the sandbox refused it.
  await writeFile(join(dir, 'secret.xml'), `<secret>${SECRET}</secret>`);
  await writeFile(join(dir, 'secret.json'), JSON.stringify({ secret: SECRET }));
});
after(() => (process.env.KEEP_SANDBOX_DIR ? undefined : rm(dir, { recursive: true, force: true })));

/** Writes a stylesheet; `resolve` puts this run's file paths in place of RESULT and SECRET_*. */
async function write(name: string, text: string, resolve = true): Promise<string> {
  const path = join(dir, name);
  if (!resolve) {
    // Left as written, the text (and so the SEF cache key) is the same on every run.
    await writeFile(path, text);
    return path;
  }
  await writeFile(
    path,
    text
      .replaceAll('RESULT', `file://${resultFile}`)
      .replaceAll('SECRET_XML', `file://${join(dir, 'secret.xml')}`)
      .replaceAll('SECRET_JSON', `file://${join(dir, 'secret.json')}`)
      .replaceAll('SECRET_DIR', `file://${dir}/`),
  );
  return path;
}

/** Compiles with the xslt3 CLI directly, skipping the compiler's sandbox check: what the workers' own lock-down must stop. */
async function compileUnchecked(path: string): Promise<CompiledStylesheet> {
  const out = `${path}.sef.json`;
  await run(process.execPath, [XSLT3, `-xsl:${path}`, `-export:${out}`, '-nogo']);
  const sef = await readFile(out, 'utf8');
  return { path, key: createHash('sha256').update(sef).digest('hex'), sef, cached: false };
}

const source = '<a>x</a>';

describe('transform sandbox: the test files are readable outside the sandbox', () => {
  it('the secret file holds the secret (so a refusal below is the sandbox, not a missing file)', async () => {
    assert.match(await readFile(join(dir, 'secret.xml'), 'utf8'), new RegExp(SECRET));
  });
});

describe('transform sandbox, static check: the compiler refuses stylesheets that reach outside', () => {
  const compiler = new SefCompiler({ cacheDir: join(tmpdir(), 'pubsync-test-xslt-cache') });
  for (const [construct, instruction] of Object.entries(ATTEMPTS)) {
    it(`refuses ${construct}`, async () => {
      const path = await write(`static-${construct.replace(/\W/g, '')}.xsl`, stylesheet(instruction), false);
      let error: SyncError | undefined;
      try {
        await compiler.compile(path);
      } catch (caught) {
        assert.ok(isSyncError(caught));
        error = caught;
      }
      assert.ok(error, `${construct} was accepted`);
      assert.equal(error.code, 'PUBSYNC_ERR_TRANSFORM_SANDBOX');
      assert.equal(error.kind, 'config');
      assert.equal(error.details.line, 3, 'names the line of the forbidden construct');
      assert.match(error.message, /is not allowed in a transform/);
    });
  }
});

describe('transform sandbox, run time: the workers refuse file, network and JavaScript access whatever the stylesheet says', () => {
  const pool = new XsltWorkerPool({ timeoutMs: 10_000 });
  after(() => pool.close());

  const refused: readonly string[] = ['doc()', "doc('file:///etc/passwd')", 'unparsed-text()', 'unparsed-text(http)', 'unparsed-text-lines()', 'json-doc()', 'collection()', 'document()', 'xsl:source-document', 'js:eval()', 'ixsl:eval()', 'function-lookup()', 'xsl:evaluate'];
  // One stylesheet holding every attempt (compiled once): $what picks the attempt.
  let attempts: Promise<CompiledStylesheet> | undefined;
  const compileAttempts = () =>
    (attempts ??= write(
      'run-attempts.xsl',
      `${HEADER}\n<xsl:param name="what" as="xs:string"/>\n<xsl:template match="/">\n<r><xsl:choose>` +
        refused.map((construct) => `<xsl:when test="$what = '${construct.replace(/'/g, "''")}'">${ATTEMPTS[construct] as string}</xsl:when>`).join('\n') +
        '</xsl:choose></r>\n</xsl:template>\n</xsl:stylesheet>\n',
    ).then(compileUnchecked));

  for (const construct of refused) {
    it(`${construct} fails with an XSLT error and reads nothing`, async () => {
      const result = await pool.run(await compileAttempts(), source, { what: construct });
      assert.equal(result.ok, false, `ran: ${result.ok ? result.output : ''}`);
      if (result.ok) return;
      assert.doesNotMatch(result.error.message, /root:x:0:0|TOP-SECRET/);
      assert.match(result.error.message, /not allowed in a pubsync transform|no collectionFinder|access to non-file resources is not allowed/, result.error.message);
    });
  }

  it('unparsed-text-available() says false for /etc/passwd', async () => {
    const compiled = await compileUnchecked(await write('run-available.xsl', stylesheet(`<xsl:value-of select="unparsed-text-available('file:///etc/passwd')"/>`)));
    const result = await pool.run(compiled, source);
    assert.ok(result.ok);
    assert.match(result.output, /<r>false<\/r>/);
  });

  it('xsl:result-document writes no file', async () => {
    const compiled = await compileUnchecked(await write('run-result-doc.xsl', stylesheet(ATTEMPTS['xsl:result-document'] as string)));
    await pool.run(compiled, source);
    await assert.rejects(access(resultFile), /ENOENT/);
  });

  it('environment-variable() sees an empty environment', async () => {
    const compiled = await compileUnchecked(await write('run-env.xsl', stylesheet(`<xsl:value-of select="count(available-environment-variables())"/>`)));
    const result = await pool.run(compiled, source);
    assert.ok(result.ok);
    assert.match(result.output, /<r>0<\/r>/);
  });
});

describe('transform limits: time and memory', () => {
  it('stops an endless loop at the time limit, replaces the worker, and the next transform works', async () => {
    const pool = new XsltWorkerPool({ timeoutMs: 1_000 });
    try {
      const compiler = new SefCompiler({ cacheDir: join(tmpdir(), 'pubsync-test-xslt-cache') });
      const loop = await compiler.compile(await write('loop.xsl', stylesheet(`<xsl:value-of select="sum((1 to 1000000000000) ! (. mod 7))"/>`)));
      const fine = await compiler.compile(await write('fine.xsl', stylesheet(`<xsl:value-of select="string(/a)"/>`)));
      const stuck = await pool.run(loop, source);
      assert.equal(stuck.ok, false);
      if (!stuck.ok) assert.equal(stuck.error.code, 'TIMEOUT');
      const next = await pool.run(fine, source);
      assert.ok(next.ok, 'the next transform runs on a fresh worker');
      assert.match(next.output, /<r>x<\/r>/);
    } finally {
      await pool.close();
    }
  });

  it('fails a transform that exceeds the memory limit, and the next transform works', async () => {
    const pool = new XsltWorkerPool({ timeoutMs: 60_000, maxMemoryMb: 64 });
    try {
      const compiler = new SefCompiler({ cacheDir: join(tmpdir(), 'pubsync-test-xslt-cache') });
      const hog = await compiler.compile(
        await write('hog.xsl', stylesheet(`<xsl:variable name="s" select="(1 to 50000000) ! ('item ' || .)"/><xsl:value-of select="count(reverse($s))"/>`)),
      );
      const fine = await compiler.compile(await write('fine2.xsl', stylesheet(`<xsl:value-of select="string(/a)"/>`)));
      const result = await pool.run(hog, source);
      assert.equal(result.ok, false);
      if (!result.ok) assert.equal(result.error.code, 'OUT_OF_MEMORY');
      const next = await pool.run(fine, source);
      assert.ok(next.ok);
    } finally {
      await pool.close();
    }
  });
});
