import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP forwarder for the reliability and security tests: it can take a server "down" (refuse
 * new connections and cut the open ones) without losing the server's data, listen on another
 * address than the server, and keep every byte the client sent, to search it for secrets.
 */
export interface TcpProxy {
  readonly host: string;
  readonly port: number;
  /** Bytes the clients sent through the proxy so far. */
  sent(): Buffer;
  connections(): number;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }, listen: { host: string; port?: number } = { host: '127.0.0.1' }): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const chunks: Buffer[] = [];
  let connections = 0;
  let port = listen.port ?? 0;
  let server: Server | undefined;
  const open = async (): Promise<void> => {
    const next = createServer((client) => {
      connections++;
      const upstream = connect(target.port, target.host);
      sockets.add(client).add(upstream);
      client.on('data', (chunk: Buffer) => chunks.push(chunk));
      client.pipe(upstream).pipe(client);
      const end = (): void => {
        client.destroy();
        upstream.destroy();
        sockets.delete(client);
        sockets.delete(upstream);
      };
      client.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
    });
    await new Promise<void>((resolve, reject) => next.once('error', reject).listen(port, listen.host, () => resolve()));
    const address = next.address();
    if (address && typeof address === 'object') port = address.port;
    server = next;
  };
  const shut = async (): Promise<void> => {
    const current = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    if (current) await new Promise<void>((resolve) => current.close(() => resolve()));
  };
  await open();
  return {
    host: listen.host,
    get port() {
      return port;
    },
    sent: () => Buffer.concat(chunks),
    connections: () => connections,
    down: shut,
    up: open,
    close: shut,
  };
}
