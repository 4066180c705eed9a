import type { LoadedConfig, ConfigProblem } from '../config/index.js';
import type { XmppConfig } from '../config/schema.js';
import { formatPath } from '../config/index.js';
import { ErrorCodes, NotConnectedError } from '../errors/index.js';
import type { Logger } from '../logging/logger.js';
import { discoverNodes } from '../transport/pubsub-nodes.js';
import { XmppConnection } from '../transport/xmpp-connection.js';

/**
 * `pubsync check --online`: logs in with the config's account and asks each partner's PubSub
 * service which nodes it offers (disco#items, the Hermod seed's partner discovery), so a
 * subscription to a node that does not exist is found before the daemon runs.
 */
export async function checkOnline(loaded: LoadedConfig, logger: Logger, timeoutMs = 10_000): Promise<ConfigProblem[]> {
  const { xmpp, subscriptions } = loaded.config;
  if (!xmpp) return [];
  return withXmppSession(xmpp, 'check', logger, timeoutMs, async (connection) => {
    const offered = new Map<string, Set<string>>();
    const problems: ConfigProblem[] = [];
    for (const [index, subscription] of subscriptions.entries()) {
      const service = subscription.service ?? xmpp.pubsubService;
      if (!offered.has(service)) offered.set(service, new Set((await discoverNodes(connection, service)).map((n) => n.node)));
      const nodes = offered.get(service) ?? new Set();
      if (nodes.has(subscription.node)) continue;
      const path = ['subscriptions', index, 'node'];
      problems.push({
        file: loaded.file,
        path: formatPath(path),
        message: `${service} offers no node "${subscription.node}"`,
        expected: `one of: ${[...nodes].join(', ') || '(no nodes)'}`,
        ...loaded.locate(path),
      });
    }
    return problems;
  });
}

/**
 * Logs in with the config's account under its own resource (`<resource>-<suffix>`, so a running
 * daemon is not displaced), runs fn and logs out. The login must complete within timeoutMs.
 */
export async function withXmppSession<T>(
  xmpp: XmppConfig,
  suffix: string,
  logger: Logger,
  timeoutMs: number,
  fn: (connection: XmppConnection) => Promise<T>,
): Promise<T> {
  const connection = new XmppConnection({ ...xmpp, resource: `${xmpp.resource}-${suffix}`, logger });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new NotConnectedError(ErrorCodes.XMPP_DISCONNECTED, `no XMPP connection to ${xmpp.service} within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    await Promise.race([connection.start(), timeout]);
    clearTimeout(timer);
    return await fn(connection);
  } finally {
    clearTimeout(timer);
    await connection.stop();
  }
}
