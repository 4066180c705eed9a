import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig, type ConfigProblem } from '../../../src/config/index.js';
import { SyncError } from '../../../src/errors/index.js';

function problemsOf(text: string, env: NodeJS.ProcessEnv = {}): ConfigProblem[] {
  try {
    parseConfig(text, 'test.yaml', env);
  } catch (error) {
    assert.ok(error instanceof SyncError);
    assert.equal(error.kind, 'config');
    assert.equal(error.code, 'PUBSYNC_ERR_CONFIG_INVALID');
    return error.details['problems'] as ConfigProblem[];
  }
  assert.fail('expected a config error');
}

const valid = `
replica: { id: 1 }
state: { path: ./state.db }
xmpp:
  service: xmpp://127.0.0.1:5222
  domain: localhost
  jid: a@localhost
  password: \${XMPP_PASSWORD}
  pubsubService: pubsub.localhost
sinks:
  - name: cms
    plugin: couchdb
    options: { url: http://127.0.0.1:5984 }
subscriptions:
  - { name: from-b, node: people, sink: cms }
`;

describe('config loading', () => {
  it('accepts a valid file, substitutes ${ENV} and fills defaults', () => {
    const { config } = parseConfig(valid, 'test.yaml', { XMPP_PASSWORD: 's3cret' });
    assert.equal(config.xmpp?.password, 's3cret');
    assert.equal(config.xmpp?.tls, 'required');
    assert.equal(config.log.level, 'info');
    assert.deepEqual(config.sinks[0]?.options, { url: 'http://127.0.0.1:5984' });
    assert.ok(Object.isFrozen(config.sinks[0]), 'config is frozen');
  });

  it('reports every problem at once, each with file, key path, line, expected and found', () => {
    const problems = problemsOf(`
replica:
  id: -1
state: {}
log: { level: loud }
sinks:
  - { name: cms, plugin: couchdb }
  - { name: cms, plugin: couchdb }
subscriptions:
  - { name: s, node: n, sink: crm, colour: blue }
`);
    const byPath = new Map(problems.map((p) => [p.path, p]));
    assert.equal(byPath.get('replica.id')?.found, '-1');
    assert.equal(byPath.get('replica.id')?.line, 3);
    assert.equal(byPath.get('state.path')?.message, 'missing');
    assert.match(byPath.get('log.level')?.expected ?? '', /"info"/);
    assert.equal(byPath.get('log.level')?.found, '"loud"');
    assert.match(byPath.get('sinks[1].name')?.message ?? '', /duplicate name "cms"/);
    assert.match(byPath.get('subscriptions[0].sink')?.message ?? '', /no sink named "crm"/);
    assert.equal(byPath.get('subscriptions[0].colour')?.message, 'unknown key');
    assert.match(byPath.get('xmpp')?.message ?? '', /need an xmpp section/);
    for (const problem of problems) assert.equal(problem.file, 'test.yaml');
  });

  it('names a missing environment variable and never echoes secrets', () => {
    const problems = problemsOf(valid.replace('jid: a@localhost', 'jid: nope'));
    const env = problems.find((p) => p.path === 'xmpp.password');
    assert.match(env?.message ?? '', /XMPP_PASSWORD is not set/);
    const leaked = parseConfigProblemsWithPassword();
    assert.equal(leaked.found, '(hidden)');
  });

  it('reports YAML syntax errors with their position', () => {
    const problems = problemsOf('replica: { id: 1\nstate: [');
    assert.equal(problems[0]?.path, '(syntax)');
    assert.ok((problems[0]?.line ?? 0) >= 1);
  });
});

function parseConfigProblemsWithPassword(): ConfigProblem {
  const problems = problemsOf(valid.replace('password: ${XMPP_PASSWORD}', 'password: 12345'));
  const found = problems.find((p) => p.path === 'xmpp.password');
  assert.ok(found, 'a numeric password is a type problem');
  return found;
}
