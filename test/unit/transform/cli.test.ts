import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseFeed } from '../../../src/format/index.js';
import { pubsyncWithEnv, repoRoot as root } from '../../support/cli.js';

const pubsync = (...args: string[]) => pubsyncWithEnv(env, ...args);
const fixture = (name: string, file: string) => join(root, 'test/fixtures/transforms', name, file);

let dir: string;
let env: NodeJS.ProcessEnv;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pubsync-cli-xslt-'));
  // The default SEF cache is under XDG_CACHE_HOME: keep it inside the test's folder.
  env = { ...process.env, XDG_CACHE_HOME: join(dir, 'cache') };
});
after(() => rm(dir, { recursive: true, force: true }));

const XSL_OPEN = '<xsl:stylesheet version="3.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform" xmlns:atom="http://www.w3.org/2005/Atom">';

describe('pubsync transform', () => {
  it('prints the transformed feed', async () => {
    const { code, stdout, stderr } = await pubsync('transform', '--xsl', 'transforms/ldap-person-to-contact.xsl', fixture('ldap-person-to-contact', 'input.xml'));
    assert.equal(code, 0, stderr);
    const expected = parseFeed(await readFile(fixture('ldap-person-to-contact', 'expected.xml'), 'utf8'));
    assert.deepEqual(parseFeed(stdout).entries, expected.entries);
  });

  it('passes --param values to the stylesheet', async () => {
    const { code, stdout, stderr } = await pubsync(
      'transform', '--xsl', 'transforms/ldap-person-to-contact.xsl', '--param', 'contact-type=person-card', fixture('ldap-person-to-contact', 'input.xml'),
    );
    assert.equal(code, 0, stderr);
    assert.deepEqual(parseFeed(stdout).entries.map((entry) => entry.type), ['person-card', 'person-card']);
  });

  it('a failing entry: prints the XSLT code, the line and the entry it failed on (exit 1)', async () => {
    const xsl = join(dir, 'fail-ann.xsl');
    await writeFile(
      xsl,
      `${XSL_OPEN}\n<xsl:mode on-no-match="shallow-copy"/>\n<xsl:template match="atom:entry[atom:title = 'Ann Lee']">\n` +
        `  <xsl:sequence select="error(QName('urn:example', 'NoAnn'), 'no Ann please')"/>\n</xsl:template>\n</xsl:stylesheet>\n`,
    );
    const { code, stderr } = await pubsync('transform', '--xsl', xsl, fixture('ldap-person-to-contact', 'input.xml'));
    assert.equal(code, 1);
    assert.match(stderr, /fail-ann\.xsl:4 failed: Q\{urn:example\}NoAnn: no Ann please/);
    assert.match(stderr, /failing entry:\n<entry [^\n]*urn:uuid:11111111-1111-4111-8111-111111111111/);
  });

  it('a stylesheet that does not compile: prints the code and line (exit 2)', async () => {
    const xsl = join(dir, 'broken.xsl');
    await writeFile(xsl, `${XSL_OPEN}\n<xsl:template match="/">\n  <xsl:value-of select="1 +"/>\n</xsl:template>\n</xsl:stylesheet>\n`);
    const { code, stderr } = await pubsync('transform', '--xsl', xsl, fixture('identity', 'input.xml'));
    assert.equal(code, 2);
    assert.match(stderr, /broken\.xsl:3: XPST0003/);
  });

  it('--watch runs again when the stylesheet is saved', async () => {
    const xsl = join(dir, 'watched.xsl');
    const titled = (title: string) =>
      `${XSL_OPEN}\n<xsl:mode on-no-match="shallow-copy"/>\n<xsl:template match="atom:entry/atom:title"><xsl:copy>${title}</xsl:copy></xsl:template>\n</xsl:stylesheet>\n`;
    await writeFile(xsl, titled('first'));
    const child = spawn('node', ['bin/pubsync.js', 'transform', '--watch', '--xsl', xsl, fixture('identity', 'input.xml')], { cwd: root, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const until = async (condition: () => boolean, what: string) => {
      const deadline = Date.now() + 30_000;
      while (!condition()) {
        if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}; stderr: ${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    try {
      await until(() => stderr.includes('watching'), 'the watch to start');
      assert.match(stdout, /<title>first<\/title>/);
      await writeFile(xsl, titled('second'));
      await until(() => stdout.includes('<title>second</title>'), 'the second run');
    } finally {
      child.kill('SIGINT');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  });
});

describe('pubsync check: stylesheets', () => {
  async function config(stylesheet: string): Promise<string> {
    const file = join(dir, `config-${Math.random().toString(36).slice(2)}.yaml`);
    await writeFile(
      file,
      [
        'replica: { id: 1 }',
        `state: { path: ${join(dir, 'state.db')} }`,
        'xmpp:',
        '  service: xmpp://127.0.0.1:5222',
        '  domain: localhost',
        '  jid: a@localhost',
        '  password: secret',
        '  pubsubService: pubsub.localhost',
        `plugins: [${join(root, 'examples/pubsync-plugin-jsonl')}]`,
        'sinks:',
        '  - name: files',
        '    plugin: jsonl',
        `    options: { directory: ${dir} }`,
        'subscriptions:',
        '  - name: people',
        '    node: people',
        '    sink: files',
        '    transform:',
        `      stylesheet: ${stylesheet}`,
        '',
      ].join('\n'),
    );
    return file;
  }

  it('a stylesheet that compiles passes (relative paths resolve against the config file)', async () => {
    await writeFile(join(dir, 'ok.xsl'), `${XSL_OPEN}\n<xsl:mode on-no-match="shallow-copy"/>\n</xsl:stylesheet>\n`);
    const { code, stdout, stderr } = await pubsync('check', '--config', await config('ok.xsl'));
    assert.equal(code, 0, stderr);
    assert.match(stdout, /OK/);
  });

  it('a compile error is a config problem at subscriptions[0].transform.stylesheet with the XSLT line (exit 2)', async () => {
    await writeFile(join(dir, 'bad.xsl'), `${XSL_OPEN}\n<xsl:template match="/">\n  <xsl:value-of select="1 +"/>\n</xsl:template>\n</xsl:stylesheet>\n`);
    const file = await config('bad.xsl');
    const { code, stderr } = await pubsync('check', '--config', file);
    assert.equal(code, 2);
    assert.match(stderr, /config-\w+\.yaml:19:\d+: subscriptions\[0\]\.transform\.stylesheet: .*bad\.xsl:3: XPST0003/);
  });

  it('a stylesheet the sandbox refuses is a config problem too', async () => {
    await writeFile(join(dir, 'reads.xsl'), `${XSL_OPEN}\n<xsl:template match="/">\n  <xsl:copy-of select="doc('file:///etc/passwd')"/>\n</xsl:template>\n</xsl:stylesheet>\n`);
    const { code, stderr } = await pubsync('check', '--config', await config('reads.xsl'));
    assert.equal(code, 2);
    assert.match(stderr, /subscriptions\[0\]\.transform\.stylesheet: .*reads\.xsl:3: fn:doc\(\) is not allowed in a transform/);
  });
});
