import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Router } from '../../../src/pipeline/router.js';
import type { NodeConfig } from '../../../src/config/schema.js';
import { csn, objectEntry, stringField, tombstone } from '../../support/entries.js';

function node(name: string, route: NodeConfig['route']): NodeConfig {
  return { name, access: 'whitelist', members: [], publishers: [], maxItems: 256, persistItems: true, route };
}

const router = new Router([
  node('article/all', { types: ['article'] }),
  node('article/approved', { types: ['article'], where: [{ field: 'approved', equals: 'true' }] }),
  node('tag/sales', { tags: ['sales'] }),
  node('from-ldap', { sources: ['ldap'] }),
]);

describe('router', () => {
  it('sends one object to every node that matches (all and approved)', () => {
    const approved = objectEntry({ id: 'urn:uuid:1', csn: csn(1), type: 'article', fields: [stringField('approved', 'true', csn(1))] });
    assert.deepEqual(router.route(approved, 'cms'), ['article/all', 'article/approved']);
    const draft = objectEntry({ id: 'urn:uuid:1', csn: csn(1), type: 'article', fields: [stringField('approved', 'false', csn(1))] });
    assert.deepEqual(router.route(draft, 'cms'), ['article/all']);
  });

  it('routes by tag and by source', () => {
    const tagged = objectEntry({ id: 'urn:uuid:2', csn: csn(1), tags: ['sales', 'emea'] });
    assert.deepEqual(router.route(tagged, 'ldap'), ['tag/sales', 'from-ldap']);
    assert.deepEqual(router.route(objectEntry({ id: 'urn:uuid:3', csn: csn(1) }), 'cms'), []);
  });

  it('sends a tombstone where its type sends the object, field predicates aside', () => {
    assert.deepEqual(router.route({ ...tombstone('urn:uuid:1', csn(2)), type: 'article' }, 'cms'), ['article/all', 'article/approved']);
  });
});
