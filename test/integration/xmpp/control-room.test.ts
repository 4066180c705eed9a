import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { xml } from '@xmpp/client';
import { ErrorCodes } from '../../../src/errors/codes.js';
import { XmppConnection } from '../../../src/transport/xmpp-connection.js';
import { startProsody, type ProsodyServer, type XmppAccount } from '../../harness/prosody.js';
import { eventually, note, quiet, Replica } from './replicas.js';

const NODE = 'gamma-notes';

/**
 * The control room between two daemons on a real Prosody: delta creates the room (owner = master),
 * gamma joins with no affiliation (read-only). Roles change by room affiliation, without restarts.
 */
describe('control room and roles', { timeout: 120_000 }, () => {
  let prosody: ProsodyServer;
  let gammaAccount: XmppAccount;
  let epsilonAccount: XmppAccount;
  let gamma: Replica;
  let delta: Replica;
  let epsilon: Replica;
  let probe: XmppConnection | undefined;
  let room: string;

  before(async () => {
    prosody = await startProsody({ admins: ['gamma@localhost', 'epsilon@localhost'] });
    gammaAccount = await prosody.createAccount('gamma');
    const deltaAccount = await prosody.createAccount('delta');
    epsilonAccount = await prosody.createAccount('epsilon');
    room = `dataset@${prosody.mucService}`;
    gamma = new Replica(prosody, { account: gammaAccount, replica: 3, nodes: [{ name: NODE, members: [deltaAccount.jid] }], xmpp: { room } });
    delta = new Replica(prosody, {
      account: deltaAccount,
      replica: 4,
      subscriptions: [
        { name: 'from-gamma', node: NODE, publisher: gammaAccount.jid },
        { name: 'from-epsilon', node: 'epsilon-notes', publisher: epsilonAccount.jid },
      ],
      xmpp: { room },
    });
    // A daemon that does not join the room: its role stays unknown to delta.
    epsilon = new Replica(prosody, { account: epsilonAccount, replica: 5, nodes: [{ name: 'epsilon-notes', members: [deltaAccount.jid] }] });
    await delta.start();
    await eventually('delta to own the room it created', () => delta.transport.controlRoom?.role === 'master');
    await gamma.start();
  });

  after(async () => {
    await probe?.stop();
    await epsilon?.dispose();
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

  it('holds the entries of an origin the room has not shown, and applies them once the room shows it as a member', async () => {
    const control = delta.transport.controlRoom;
    assert.ok(control);
    await control.setAffiliation(epsilonAccount.jid, 'member');
    epsilon.source.add(note('held-1', 'from a daemon the room has not seen'));
    await epsilon.start();
    await eventually('epsilon to publish held-1', () => epsilon.transport.publisher.position >= 1n);
    await assert.rejects(delta.transport.subscriber.catchUpAll(), /epsilon@localhost has not been seen in the control room yet/);
    assert.equal(delta.sink.objects.has('held-1'), false, 'nothing of an origin of unknown role is applied');
    assert.equal(delta.deadLetters().some((d) => d.entryId !== undefined && /held-1/.test(d.message)), false, 'held, not refused');

    // epsilon's account shows up in the room: a member, read-write.
    probe = new XmppConnection({ service: prosody.service, domain: prosody.domain, jid: epsilonAccount.jid, password: epsilonAccount.password, resource: 'probe', tls: 'required', logger: quiet });
    await probe.start();
    await probe.send(xml('presence', { to: `${room}/epsilon-probe` }, xml('x', { xmlns: 'http://jabber.org/protocol/muc' })));
    await eventually('delta to see epsilon as read-write', () => control.roleOf(epsilonAccount.jid) === 'read-write');
    await delta.transport.subscriber.catchUpAll();
    await eventually('held-1 to be applied', () => delta.sink.objects.has('held-1'));
  });
});
