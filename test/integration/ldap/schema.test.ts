import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { ObjectEntry, UpsertChange } from '../../../src/plugin-api/index.js';
import { BatchCollector, createTestContext, instantiate, objectEntry } from '../../../src/testing/index.js';
import { ldapSink, ldapSource } from '../../../plugins/ldap/index.js';
import { PEOPLE, sinkOptionsFor, sourceOptionsFor, startSlapd, type SlapdInstance } from './ldap-fixture.js';

const signal = new AbortController().signal;

describe('ldap schema publication and checking', () => {
  const instances: SlapdInstance[] = [];
  after(() => Promise.all(instances.map((s) => s.stop())));

  it('publishes the subschema subentry, which a sink compares with its own', async () => {
    const ldap = await startSlapd();
    instances.push(ldap);
    const controller = new AbortController();
    const source = await instantiate(
      ldapSource,
      sourceOptionsFor(ldap, { initial: 'now', publishSchema: true }),
      createTestContext({ signal: controller.signal }),
    );
    const collector = new BatchCollector(source.start(undefined, controller.signal));
    let schema: UpsertChange;
    try {
      schema = (await collector.waitFor(
        'the schema',
        (batches) => batches.flatMap((b) => b.changes).find((c) => c.type === 'ldap-schema'),
        10_000,
      )) as UpsertChange;
    } finally {
      controller.abort();
      await collector.ended(10_000);
      await source.close?.();
    }
    const attributeTypes = schema.fields.find((f) => f.name === 'attributeTypes')?.values as string[];
    assert.ok(attributeTypes.some((d) => /NAME \( 'cn' 'commonName' \)/.test(d)), 'cn is in the published schema');
    assert.ok(schema.fields.some((f) => f.name === 'objectClasses' && f.values.length > 10));

    const sink = await instantiate(ldapSink, sinkOptionsFor(ldap, { checkSchema: true }), createTestContext({ kind: 'sink' }));
    try {
      const extra = "( 1.3.6.1.4.1.99999.1 NAME 'pubsyncWidget' SUP top STRUCTURAL )";
      const fields = schema.fields.map((f) =>
        f.name === 'objectClasses' ? { ...f, csn: '', values: [...(f.values as string[]), extra] } : { ...f, csn: '' },
      );
      const entry = objectEntry({ type: 'ldap-schema', fields: fields as ObjectEntry['fields'] });
      const [outcome] = await sink.apply([{ entry, fields: [] }], signal);
      assert.equal(outcome?.status, 'skipped');
      assert.match(outcome.reason, /1 definitions .* missing here: pubsyncwidget/);
    } finally {
      await sink.close?.();
    }
  });

  it('refuses an entry with attribute types or object classes unknown here, before writing it', async () => {
    const ldap = await startSlapd();
    instances.push(ldap);
    const sink = await instantiate(ldapSink, sinkOptionsFor(ldap, { checkSchema: true }), createTestContext({ kind: 'sink' }));
    try {
      const dn = `cn=Widget,${PEOPLE}`;
      const entry = objectEntry({
        type: 'pubsyncWidget',
        keys: [{ scheme: 'ldap-dn', value: dn }],
        fields: { objectClass: ['top', 'pubsyncWidget'], cn: 'Widget', widgetColour: 'blue' },
      });
      const [outcome] = await sink.apply([{ entry, fields: entry.fields.map((f) => f.name) }], signal);
      assert.equal(outcome?.status, 'rejected');
      assert.match(outcome.reason, /attribute types widgetcolour and object classes pubsyncwidget unknown to the schema/);
      const log = await ldap.ldapsearch(ldap.accesslogSuffix, '(reqType=add)', ['reqDN'], { scope: 'one' });
      assert.doesNotMatch(log, /cn=Widget/, 'the server was asked anyway');
    } finally {
      await sink.close?.();
    }
  });
});
