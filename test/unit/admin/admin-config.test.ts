import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isLoopbackHost, parseListen } from '../../../src/admin/admin-config.js';
import { configSchema } from '../../../src/config/schema.js';

const base = { replica: { id: 1 }, state: { path: '/tmp/x.db' } };

function problems(admin: unknown): { path: string; message: string }[] {
  const result = configSchema.safeParse({ ...base, admin });
  return result.success ? [] : result.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
}

describe('admin config', () => {
  it('is on by default, on a free loopback port', () => {
    assert.deepEqual(configSchema.parse(base).admin, { enabled: true, listen: '127.0.0.1:0', allowRemote: false });
  });

  it('accepts loopback addresses: IPv4, IPv6 in brackets, localhost', () => {
    for (const listen of ['127.0.0.1:9464', '127.0.0.2:0', '[::1]:9464', 'localhost:0']) assert.deepEqual(problems({ listen }), [], listen);
  });

  it('refuses a non-loopback address without allowRemote, naming the field and the way out', () => {
    const [problem, ...rest] = problems({ listen: '0.0.0.0:9464' });
    assert.deepEqual(rest, []);
    assert.equal(problem?.path, 'admin.listen');
    assert.match(problem?.message ?? '', /0\.0\.0\.0 is not a loopback address.*admin\.allowRemote: true/);
    assert.deepEqual(problems({ listen: '192.0.2.7:9464', allowRemote: true }), []);
  });

  it('refuses what is not host:port', () => {
    for (const listen of ['9464', '127.0.0.1', '127.0.0.1:99999', '::1:80', 'host:port']) {
      assert.equal(problems({ listen })[0]?.path, 'admin.listen', listen);
    }
    assert.equal(problems({ listen: '127.0.0.1:0', colour: 'blue' }).length, 1, 'unknown keys too');
  });

  it('parses host:port', () => {
    assert.deepEqual(parseListen('[::1]:80'), { host: '::1', port: 80 });
    assert.deepEqual(parseListen('localhost:0'), { host: 'localhost', port: 0 });
    assert.equal(parseListen('a:b:1'), undefined);
    assert.equal(isLoopbackHost('127.1.2.3'), true);
    assert.equal(isLoopbackHost('::ffff:127.0.0.1'), false, 'only the plain forms');
    assert.equal(isLoopbackHost('example.org'), false);
  });
});
