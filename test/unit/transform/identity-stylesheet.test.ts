import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isIdentityStylesheet, isIdentityStylesheetText } from '../../../src/transform/identity-stylesheet.js';

const XSL = 'xmlns:xsl="http://www.w3.org/1999/XSL/Transform"';

test('the shipped identity.xsl is recognised', async () => {
  assert.equal(await isIdentityStylesheet(fileURLToPath(new URL('../../../transforms/identity.xsl', import.meta.url))), true);
});

test('the shipped mapping stylesheet is not the identity', async () => {
  assert.equal(await isIdentityStylesheet(fileURLToPath(new URL('../../../transforms/ldap-person-to-contact.xsl', import.meta.url))), false);
});

test('an identity written as xsl:transform with comments is recognised', () => {
  assert.equal(isIdentityStylesheetText(`<?xml version="1.0"?>\n<!-- c --><xsl:transform version="3.0" ${XSL}>\n  <!-- nothing -->\n  <xsl:mode on-no-match="shallow-copy"/>\n</xsl:transform>`), true);
});

test('anything beyond the shallow-copy mode makes an ordinary stylesheet', () => {
  const cases = [
    `<xsl:stylesheet version="3.0" ${XSL}><xsl:mode on-no-match="shallow-copy"/><xsl:template match="x"/></xsl:stylesheet>`,
    `<xsl:stylesheet version="3.0" ${XSL}><xsl:mode on-no-match="deep-skip"/></xsl:stylesheet>`,
    `<xsl:stylesheet version="3.0" ${XSL}><xsl:mode name="m" on-no-match="shallow-copy"/></xsl:stylesheet>`,
    `<xsl:stylesheet version="3.0" default-mode="m" ${XSL}><xsl:mode on-no-match="shallow-copy"/></xsl:stylesheet>`,
    `<xsl:stylesheet version="3.0" ${XSL}><xsl:import href="other.xsl"/><xsl:mode on-no-match="shallow-copy"/></xsl:stylesheet>`,
    `<xsl:stylesheet version="3.0" ${XSL}><xsl:mode on-no-match="shallow-copy"/><xsl:mode on-no-match="shallow-copy"/></xsl:stylesheet>`,
    `<xsl:stylesheet version="3.0" ${XSL}></xsl:stylesheet>`,
    `<xsl:stylesheet version="3.0" ${XSL}><xsl:mode on-no-match="shallow-copy"/>text</xsl:stylesheet>`,
    `<stylesheet version="3.0"><mode on-no-match="shallow-copy"/></stylesheet>`,
    `<xsl:stylesheet version="3.0" ${XSL}><xsl:mode on-no-match="shallow-copy">`,
  ];
  for (const text of cases) assert.equal(isIdentityStylesheetText(text), false, text);
});

test('a file that cannot be read is not the identity', async () => {
  assert.equal(await isIdentityStylesheet('/nonexistent/identity.xsl'), false);
});
