import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pubsync } from '../../support/cli.js';

describe('pubsync CLI', () => {
  it('prints its version', async () => {
    const { code, stdout } = await pubsync('--version');
    assert.equal(code, 0);
    assert.match(stdout, /^\d+\.\d+\.\d+\n$/);
  });

  it('check: a broken config names every problem and exits 2', async () => {
    const { code, stderr } = await pubsync('check', '--config', 'examples/configs/broken.yaml');
    assert.equal(code, 2);
    for (const path of ['replica.id', 'state.path', 'log.level', 'xmpp.service', 'xmpp.jid', 'xmpp.password', 'subscriptions[0].colour', 'subscriptions[0].sink']) {
      assert.ok(stderr.includes(`: ${path}: `), `${path} named in:\n${stderr}`);
    }
    assert.match(stderr, /broken\.yaml:\d+:\d+: /, 'problems carry line and column');
  });

  it('check: a good config exits 0', async () => {
    const { code, stdout } = await pubsync('check', '--config', 'examples/configs/minimal.yaml');
    assert.equal(code, 0);
    assert.match(stdout, /OK/);
  });

  it('check: an unreadable file is a config error (exit 2)', async () => {
    const { code, stderr } = await pubsync('check', '--config', 'examples/configs/does-not-exist.yaml');
    assert.equal(code, 2);
    assert.match(stderr, /cannot read config file/);
  });
});
