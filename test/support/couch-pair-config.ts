import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ProsodyServer, XmppAccount } from '../harness/prosody.js';

export interface CouchPairMember {
  /** The file, state and node are named after it; "a" subscribes to "b"'s node, any other name to "a"'s. */
  readonly name: string;
  readonly me: XmppAccount;
  readonly peer: XmppAccount;
  readonly replica: number;
  readonly database: string;
  readonly level: string;
  /** More lines for the xmpp section (indented by the caller). */
  readonly xmppExtra?: readonly string[];
}

/**
 * The config of one side of a two-replica CouchDB pair through Prosody: the couchdb source and
 * the sink linked to it, a node for the peer, a subscription to the peer's node. Returns its path.
 */
export async function writeCouchPairConfig(dir: string, prosody: ProsodyServer, couchUrl: string, member: CouchPairMember): Promise<string> {
  const { name, me, peer, replica, database, level } = member;
  const file = join(dir, `${name}.yaml`);
  await writeFile(
    file,
    [
      `replica: { id: ${replica} }`,
      `state: { path: ${join(dir, `${name}.db`)} }`,
      `log: { level: ${level} }`,
      'xmpp:',
      `  service: ${prosody.service}`,
      '  domain: localhost',
      `  jid: ${me.jid}`,
      `  password: "${me.password}"`,
      `  pubsubService: ${prosody.pubsubService}`,
      ...(member.xmppExtra ?? []),
      'sources:',
      `  - { name: docs, plugin: couchdb, options: { url: "${couchUrl}", database: ${database}, longpollTimeoutMs: 1000 } }`,
      'sinks:',
      `  - { name: docs-in, plugin: couchdb, source: docs, options: { url: "${couchUrl}", database: ${database} } }`,
      'nodes:',
      `  - { name: docs-${name}, members: [${peer.jid}] }`,
      'subscriptions:',
      `  - { name: from-peer, node: docs-${name === 'a' ? 'b' : 'a'}, publisher: ${peer.jid}, sink: docs-in }`,
      '',
    ].join('\n'),
  );
  return file;
}
