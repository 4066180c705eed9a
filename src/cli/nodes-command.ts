import type { Command } from 'commander';
import { loadConfig } from '../config/index.js';
import type { Config, NodeConfig, XmppConfig } from '../config/schema.js';
import { createLogger, type Logger } from '../logging/logger.js';
import { affiliations, bare, discoverNodes, ensureNode, type Affiliation, type NodeReport } from '../transport/pubsub-nodes.js';
import { StanzaRequestError, type XmppConnection } from '../transport/xmpp-connection.js';
import { ExitCode } from './exit-codes.js';
import { withXmppSession } from './online-check.js';
import { exitCodeOf, toMs } from './run-command.js';

interface NodesOptions {
  readonly config: string;
  readonly timeout: number;
  readonly json?: boolean;
}

/** One configured node as the server has it. */
export interface NodeState {
  readonly node: string;
  readonly service: string;
  readonly access: string;
  readonly members: readonly string[];
  readonly publishers: readonly string[];
  readonly exists: boolean;
  /** The server's affiliations (our own omitted); undefined when the node is missing or they could not be read. */
  readonly affiliations?: Readonly<Record<string, Affiliation>>;
  /** Why they could not be read (e.g. we are not the node's owner). */
  readonly affiliationsError?: string;
  /** Differences from the config: "bob@x: member, configured publisher", "eve@x: member, not configured". */
  readonly drift: readonly string[];
}

/** A node a partner's service offers, and our subscriptions to it. */
export interface OfferedNode {
  readonly service: string;
  readonly node: string;
  readonly name?: string;
  readonly subscriptions: readonly string[];
}

export function registerNodesCommand(program: Command): void {
  const nodes = program.command('nodes').description("our PubSub nodes and their whitelists, and the nodes partners offer");
  nodes
    .command('list')
    .description('our configured nodes (access, members, publishers, whether they exist, the affiliations the server has) and the nodes our partners offer')
    .requiredOption('-c, --config <file>', 'the config file')
    .option('--partner <jid>', 'list the nodes this service (pubsub.example.org) offers, or the services this peer (bob@example.org) publishes on')
    .option('--timeout <ms>', 'how long to wait for the XMPP server', toMs, 10_000)
    .option('--json', 'print JSON')
    .action(async (options: NodesOptions & { partner?: string }) => {
      process.exit(await withSession(options, async (connection, config, xmpp) => list(connection, config, xmpp, options)));
    });
  nodes
    .command('ensure')
    .description('create missing nodes and make their options and affiliations match the config; prints what changed')
    .requiredOption('-c, --config <file>', 'the config file')
    .option('--timeout <ms>', 'how long to wait for the XMPP server', toMs, 10_000)
    .option('--json', 'print JSON')
    .action(async (options: NodesOptions) => {
      process.exit(await withSession(options, async (connection, config, xmpp, logger) => ensure(connection, config, xmpp, logger, options)));
    });
}

type Session = (connection: XmppConnection, config: Config, xmpp: XmppConfig, logger: Logger) => Promise<number>;

async function withSession(options: NodesOptions, fn: Session): Promise<number> {
  // Warnings only: the output is the report on stdout.
  const logger = createLogger({ level: 'warn' });
  try {
    const { config } = await loadConfig(options.config);
    const { xmpp } = config;
    if (!xmpp) {
      process.stderr.write(`${options.config}: no xmpp section, so no nodes\n`);
      return ExitCode.BAD_CONFIG;
    }
    return await withXmppSession(xmpp, 'nodes', logger, options.timeout, (connection) => fn(connection, config, xmpp, logger));
  } catch (error) {
    process.stderr.write(`pubsync nodes: ${error instanceof Error ? error.message : String(error)}\n`);
    return exitCodeOf(error);
  }
}

async function list(connection: XmppConnection, config: Config, xmpp: XmppConfig, options: NodesOptions & { partner?: string }): Promise<number> {
  const ours = await nodeStates(connection, xmpp.pubsubService, config.nodes);
  const offered = await offeredNodes(connection, config, xmpp, options.partner);
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ nodes: ours, offered }, null, 2)}\n`);
    return ExitCode.OK;
  }
  const out: string[] = [`our nodes on ${xmpp.pubsubService}:`];
  if (ours.length === 0) out.push('  (none configured)');
  for (const node of ours) {
    out.push(`  ${node.node}  ${node.exists ? 'exists' : 'MISSING (pubsync nodes ensure creates it)'}  access ${node.access}`);
    out.push(`    members: ${node.members.join(', ') || '(none)'}`);
    out.push(`    publishers: ${node.publishers.join(', ') || '(none)'}`);
    if (node.affiliations) {
      const actual = Object.entries(node.affiliations).map(([jid, a]) => `${jid}=${a}`);
      out.push(`    on the server: ${actual.join(', ') || '(no affiliations)'}`);
    }
    if (node.affiliationsError) out.push(`    on the server: affiliations unreadable: ${node.affiliationsError}`);
    for (const drift of node.drift) out.push(`    differs: ${drift}`);
  }
  const services = [...new Set(offered.map((o) => o.service))];
  for (const service of services) {
    out.push(`offered by ${service}:`);
    for (const node of offered.filter((o) => o.service === service)) {
      const title = node.name && node.name !== node.node ? ` "${node.name}"` : '';
      const subscribed = node.subscriptions.length > 0 ? `  subscribed: ${node.subscriptions.join(', ')}` : '';
      out.push(`  ${node.node}${title}${subscribed}`);
    }
  }
  for (const missing of missingSubscriptions(config, xmpp, offered, options.partner)) out.push(missing);
  process.stdout.write(`${out.join('\n')}\n`);
  return ExitCode.OK;
}

/** Our configured nodes against what the server holds. */
export async function nodeStates(connection: XmppConnection, service: string, nodes: readonly NodeConfig[]): Promise<NodeState[]> {
  const existing = new Set((await discoverNodes(connection, service)).map((n) => n.node));
  const own = connection.bareJid;
  const states: NodeState[] = [];
  for (const node of nodes) {
    const base = { node: node.name, service, access: node.access, members: node.members, publishers: node.publishers, exists: existing.has(node.name) };
    if (!base.exists) {
      states.push({ ...base, drift: ['the node does not exist'] });
      continue;
    }
    try {
      const actual = await affiliations(connection, service, node.name);
      actual.delete(own);
      states.push({ ...base, affiliations: Object.fromEntries(actual), drift: drift(node, actual, own) });
    } catch (error) {
      states.push({ ...base, affiliationsError: error instanceof Error ? error.message : String(error), drift: [] });
    }
  }
  return states;
}

function drift(node: NodeConfig, actual: ReadonlyMap<string, Affiliation>, own: string): string[] {
  const wanted = new Map<string, Affiliation>();
  for (const jid of node.members) wanted.set(jid, 'member');
  for (const jid of node.publishers) wanted.set(jid, 'publisher');
  wanted.delete(own);
  const out: string[] = [];
  for (const [jid, affiliation] of wanted) {
    const has = actual.get(jid);
    if (has !== affiliation) out.push(`${jid}: ${has ?? 'no affiliation'} on the server, configured ${affiliation}`);
  }
  for (const [jid, affiliation] of actual) {
    if (!wanted.has(jid) && affiliation !== 'none' && affiliation !== 'owner') out.push(`${jid}: ${affiliation} on the server, not configured`);
  }
  return out;
}

/**
 * The nodes partners offer: with --partner, that service (no "@") or the services this peer
 * publishes on per our subscriptions; without it, every service our subscriptions use.
 */
async function offeredNodes(connection: XmppConnection, config: Config, xmpp: XmppConfig, partner: string | undefined): Promise<OfferedNode[]> {
  const serviceOf = (s: Config['subscriptions'][number]): string => s.service ?? xmpp.pubsubService;
  let services: string[];
  if (partner === undefined) services = config.subscriptions.map(serviceOf);
  else if (partner.includes('@')) {
    const peer = bare(partner);
    const theirs = config.subscriptions.filter((s) => s.publisher === peer).map(serviceOf);
    services = theirs.length > 0 ? theirs : [xmpp.pubsubService];
  } else services = [partner];
  const out: OfferedNode[] = [];
  for (const service of [...new Set(services)]) {
    for (const item of await discoverNodes(connection, service)) {
      if (service === xmpp.pubsubService && config.nodes.some((n) => n.name === item.node)) continue;
      const subscriptions = config.subscriptions.filter((s) => serviceOf(s) === service && s.node === item.node).map((s) => s.name);
      out.push({ service, node: item.node, ...(item.name === undefined ? {} : { name: item.name }), subscriptions });
    }
  }
  return out;
}

function missingSubscriptions(config: Config, xmpp: XmppConfig, offered: readonly OfferedNode[], partner: string | undefined): string[] {
  const listed = new Set(offered.map((o) => o.service));
  return config.subscriptions
    .filter((s) => listed.has(s.service ?? xmpp.pubsubService) && (partner === undefined || !partner.includes('@') || s.publisher === bare(partner)))
    .filter((s) => !offered.some((o) => o.service === (s.service ?? xmpp.pubsubService) && o.node === s.node))
    .map((s) => `subscription ${s.name}: ${s.service ?? xmpp.pubsubService} offers no node "${s.node}"`);
}

async function ensure(connection: XmppConnection, config: Config, xmpp: XmppConfig, logger: Logger, options: NodesOptions): Promise<number> {
  const reports: NodeReport[] = [];
  const refused: { node: string; reason: string }[] = [];
  for (const node of config.nodes) {
    try {
      reports.push(await ensureNode(connection, xmpp.pubsubService, node, logger));
    } catch (error) {
      if (!(error instanceof StanzaRequestError)) throw error;
      refused.push({ node: node.name, reason: refusal(error, node.name, xmpp) });
    }
  }
  if (options.json) process.stdout.write(`${JSON.stringify({ ensured: reports, refused }, null, 2)}\n`);
  else {
    const out = reports.map(describeReport);
    if (out.length === 0 && refused.length === 0) out.push('no nodes configured');
    process.stdout.write(out.length > 0 ? `${out.join('\n')}\n` : '');
  }
  for (const { node, reason } of refused) process.stderr.write(`pubsync nodes ensure: node ${node}: ${reason}\n`);
  if (refused.length === 0) return ExitCode.OK;
  return ExitCode.FAILURE;
}

function describeReport(report: NodeReport): string {
  const changes = [
    ...(report.created ? ['created'] : []),
    ...Object.entries(report.set).map(([jid, a]) => (a === 'none' ? `removed ${jid}` : `${jid} -> ${a}`)),
    ...report.unsubscribed.map((jid) => `unsubscribed ${jid}`),
  ];
  return `${report.node}: ${changes.length > 0 ? changes.join(', ') : 'unchanged (options re-applied)'}`;
}

/** The server's refusal, with what usually causes it. */
function refusal(error: StanzaRequestError, node: string, xmpp: XmppConfig): string {
  const hint =
    error.condition === 'forbidden'
      ? ` (the node exists and ${xmpp.jid} is not its owner, or ${xmpp.pubsubService} does not let this account create nodes)`
      : error.condition === 'not-allowed' || error.condition === 'feature-not-implemented'
        ? ` (${xmpp.pubsubService} does not allow this for node ${node})`
        : '';
  return `refused by the server: ${error.message}${hint}`;
}
