import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ErrorCodes } from '../../../src/errors/codes.js';
import { startProsody, type ProsodyServer, type XmppAccount } from '../../harness/prosody.js';
import { eventually, note, Replica } from './replicas.js';

const NODE = 'gamma-notes';

/**
 * The control room between two daemons on a real Prosody: delta creates the room (owner = master),
 * gamma joins with no affiliation (read-only). Roles change by room affiliation, without restarts.
 */
describe('control room and roles', { timeout: 120_000 }, () => {
  let prosody: ProsodyServer;
  let gammaAccount: XmppAccount;
  let gamma: Replica;
  let delta: Replica;

  before(async () => {
    prosody = await startProsody({ admins: ['gamma@localhost'] });
    gammaAccount = await prosody.createAccount('gamma');
    const deltaAccount = await prosody.createAccount('delta');
    const room = { room: `dataset@${prosody.mucService}` };
    gamma = new Replica(prosody, { account: gammaAccount, replica: 3, nodes: [{ name: NODE, members: [deltaAccount.jid] }], xmpp: room });
    delta = new Replica(prosody, {
      account: deltaAccount,
      replica: 4,
      subscriptions: [{ name: 'from-gamma', node: NODE, publisher: gammaAccount.jid }],
      xmpp: room,
    });
    await delta.start();
    await eventually('delta to own the room it created', () => delta.transport.controlRoom?.role === 'master');
    await gamma.start();
  });

  after(async () => {
    await gamma?.dispose();
    await delta?.dispose();
    await prosody?.stop();
  });

  it('shows who is online with replica id, state and positions, and maps affiliations to roles', async () => {
    const room = delta.transport.controlRoom;
    assert.ok(room);
    await eventually('delta to see gamma in the room', () => room.roleOf(gammaAccount.jid) !== undefined);
    const peer = room.peers().find((p) => p.jid === gammaAccount.jid);
    assert.equal(peer?.role, 'read-only');
    assert.equal(peer?.replica, 3);
    assert.equal(peer?.present, true);
    assert.equal(gamma.transport.controlRoom?.role, 'read-only');
    assert.equal(gamma.transport.controlRoom?.roleOf(delta.transport.connection.bareJid), 'master');
  });

  it("refuses a read-only peer's entries, and accepts them as soon as the peer is made a member", async () => {
    const room = delta.transport.controlRoom;
    assert.ok(room);
    gamma.source.add(note('ro-1', 'written while read-only'));
    await eventually('the read-only entry to be dead-lettered', () =>
      delta.deadLetters().some((d) => d.code === ErrorCodes.TRANSPORT_UNTRUSTED && /read-only role/.test(d.message)),
    );
    assert.equal(delta.sink.objects.has('ro-1'), false);

    await room.setAffiliation(gammaAccount.jid, 'member');
    await eventually('delta to see gamma as read-write', () => room.roleOf(gammaAccount.jid) === 'read-write');
    await eventually('gamma to see its own new role', () => gamma.transport.controlRoom?.role === 'read-write');
    gamma.source.add(note('rw-1', 'written as a member'));
    await eventually('the entry written as a member to arrive', () => delta.sink.objects.has('rw-1'));
    assert.equal(delta.sink.objects.has('ro-1'), false, 'what was refused stays refused');
  });
});
