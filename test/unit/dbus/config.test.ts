import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dbusOptions, echoScopeOf } from '../../../plugins/dbus/config.js';

const minimal = { service: 'org.pubsync.Notes', objectPath: '/org/pubsync/Notes', interface: 'org.pubsync.Notes' };

describe('dbus options', () => {
  it('fills in the defaults of the example app', () => {
    const options = dbusOptions.parse(minimal);
    assert.equal(options.bus, 'session');
    assert.equal(options.signal, 'ObjectChanged');
    assert.deepEqual(options.methods, { list: 'List', get: 'Get', put: 'Put', delete: 'Delete' });
    assert.equal(options.objectType, 'note');
    assert.equal(echoScopeOf(options), 'dbus-echo:org.pubsync.Notes/org/pubsync/Notes');
  });

  it('accepts session, system and addresses as the bus', () => {
    for (const bus of ['session', 'system', 'unix:path=/run/bus.sock', 'tcp:host=localhost,port=1']) {
      assert.equal(dbusOptions.parse({ ...minimal, bus }).bus, bus);
    }
  });

  it('names the option that is wrong', () => {
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ ...minimal, bus: 'nowhere' }, 'bus', /session, system or an address/],
      [{ ...minimal, service: 'notes' }, 'service', /well-known bus name/],
      [{ ...minimal, objectPath: 'org/x' }, 'objectPath', /object path/],
      [{ ...minimal, methods: { put: 'Put Now' } }, 'methods.put', /member name/],
      [{ ...minimal, extra: 1 }, '', /extra/],
    ];
    for (const [input, path, message] of cases) {
      const result = dbusOptions.safeParse(input);
      assert.equal(result.success, false, JSON.stringify(input));
      const issue = result.error?.issues[0];
      assert.equal(issue?.path.join('.'), path);
      assert.match(result.error?.message ?? '', message);
    }
  });
});
