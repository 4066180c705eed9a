import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { serializeEntry, serializeFeed } from '../../../src/format/index.js';
import { batch, entry } from './arbitraries.js';
import { FIELD_CSN, sampleBatch, sampleEntry, sampleTombstone } from './fixtures.js';

const SCHEMA = fileURLToPath(new URL('../../../src/format/schema/pubsync-entry.rng', import.meta.url));

interface Validation {
  readonly ok: boolean;
  readonly output: string;
}

/** One xmllint run for many documents: spawning it per document would dominate the suite. */
function validate(files: readonly string[]): Validation {
  const result = spawnSync('xmllint', ['--noout', '--relaxng', SCHEMA, ...files], { encoding: 'utf8' });
  if (result.error) throw new Error(`xmllint is needed (apt-get install libxml2-utils): ${result.error.message}`);
  return { ok: result.status === 0, output: `${result.stdout}${result.stderr}` };
}

describe('RELAX NG schema', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'pubsync-schema-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, xml: string): string => {
    const file = join(dir, name);
    writeFileSync(file, xml);
    return file;
  };

  test('serialized entries, tombstones and feeds are valid', () => {
    const documents = [
      serializeEntry(sampleEntry),
      serializeEntry(sampleTombstone),
      serializeEntry({ ...sampleEntry, tombstone: FIELD_CSN }),
      serializeFeed(sampleBatch),
      serializeFeed({ ...sampleBatch, entries: [] }),
      ...fc.sample(entry, { numRuns: 60, seed: 42 }).map(serializeEntry),
      ...fc.sample(batch, { numRuns: 15, seed: 7 }).map(serializeFeed),
    ];
    const files = documents.map((xml, i) => write(`valid-${i}.xml`, xml));
    const result = validate(files);
    assert.ok(result.ok, result.output);
  });

  test('the schema is not vacuous: broken documents fail', () => {
    const xml = serializeEntry(sampleEntry);
    const broken = [
      xml.replace('<changed>', '<extra/><changed>'),
      xml.replace(/csn="20240430080000[^"]*"/, 'csn="yesterday"'),
      xml.replace('<v>1001</v>', '<v>ten</v>'),
      xml.replace('<v>true</v>', '<v>yes</v>'),
      xml.replace(/<origin [^>]*\/>/, ''),
      xml.replace('scheme="urn:pubsync:type"', 'scheme="urn:other"'),
      xml.replace('<data>iVBORw==</data>', ''),
      serializeEntry(sampleTombstone).replace(/ when="[^"]*"/, ''),
      serializeEntry({ ...sampleEntry, tombstone: FIELD_CSN }).replace(/tombstone="[^"]*"/, 'tombstone="earlier"'),
      serializeFeed(sampleBatch).replace(/<ps:batch[^>]*>/, '<ps:batch>'),
    ];
    for (const [i, document] of broken.entries()) {
      assert.notEqual(document, xml, `edit ${i} applies`);
      const result = validate([write(`broken-${i}.xml`, document)]);
      assert.ok(!result.ok, `broken document ${i} should fail validation: ${document}`);
    }
  });
});
