import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ErrorCodes, SyncError } from '../errors/index.js';
import type { Logger } from '../logging/logger.js';
import { isLoopbackHost, type ListenAddress } from './admin-config.js';

/** Request bodies (a list of dead-letter ids at most) are small: anything bigger is refused. */
const MAX_BODY_BYTES = 64 * 1024;

export interface AdminRoutes {
  healthz(): void;
  readyz(): { ready: boolean; reasons: string[] };
  metrics(): Promise<string>;
  metricsContentType: string;
  status(): unknown;
  retry(request: { ids?: number[]; all?: boolean }): Promise<unknown>;
}

export interface AdminServerOptions {
  readonly listen: ListenAddress;
  readonly allowRemote: boolean;
  readonly routes: AdminRoutes;
  readonly logger: Logger;
}

/**
 * The admin endpoint over node:http: five routes need no framework. It has no authentication;
 * on loopback it also refuses requests whose Host is not a loopback name (a web page resolving
 * its own name to 127.0.0.1 cannot use it), and POSTs must be JSON (which a page cannot send
 * cross-origin without a preflight this server never answers).
 */
export class AdminServer {
  readonly #options: AdminServerOptions;
  readonly #server: Server;

  constructor(options: AdminServerOptions) {
    this.#options = options;
    this.#server = createServer((request, response) => void this.#handle(request, response));
  }

  /** Listens; resolves with the bound URL (port 0 becomes the real port). */
  listen(): Promise<string> {
    const { host, port } = this.#options.listen;
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void =>
        reject(new SyncError(ErrorCodes.ADMIN_LISTEN_FAILED, 'config', `admin.listen: cannot listen on ${host}:${port}: ${error.message}`, { cause: error }));
      this.#server.once('error', onError);
      this.#server.listen(port, host, () => {
        this.#server.off('error', onError);
        const address = this.#server.address() as AddressInfo;
        const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
        resolve(`http://${shown}:${address.port}`);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.#server.listening) return resolve();
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const { routes, logger } = this.#options;
    try {
      if (!this.#options.allowRemote && !isLoopbackHost(hostName(request.headers.host ?? ''))) {
        return send(response, 403, 'text/plain', 'forbidden: the admin endpoint answers loopback host names only\n');
      }
      const path = (request.url ?? '/').split('?')[0];
      const route = `${request.method ?? 'GET'} ${path}`;
      switch (route) {
        case 'GET /healthz':
          routes.healthz();
          return send(response, 200, 'text/plain', 'ok\n');
        case 'GET /readyz': {
          const { ready, reasons } = routes.readyz();
          return send(response, ready ? 200 : 503, 'text/plain', ready ? 'ready\n' : `not ready: ${reasons.join('; ')}\n`);
        }
        case 'GET /metrics':
          return send(response, 200, routes.metricsContentType, await routes.metrics());
        case 'GET /status':
          return sendJson(response, 200, routes.status());
        case 'POST /dlq/retry': {
          if (!/^application\/json\b/.test(request.headers['content-type'] ?? '')) {
            return sendJson(response, 415, { error: 'expected Content-Type: application/json' });
          }
          const body = await readJson(request);
          const problem = retryProblem(body);
          if (problem) return sendJson(response, 400, { error: problem });
          return sendJson(response, 200, await routes.retry(body as { ids?: number[]; all?: boolean }));
        }
        default:
          return sendJson(response, 404, { error: `no route ${route}`, routes: ['GET /healthz', 'GET /readyz', 'GET /metrics', 'GET /status', 'POST /dlq/retry'] });
      }
    } catch (error) {
      logger.error({ err: error, url: request.url }, 'admin request failed');
      if (!response.headersSent) sendJson(response, error instanceof BodyError ? 400 : 500, { error: error instanceof Error ? error.message : String(error) });
      else response.destroy();
    }
  }
}

class BodyError extends Error {}

function hostName(host: string): string {
  const bracketed = /^\[([^\]]+)\]/.exec(host);
  if (bracketed?.[1]) return bracketed[1];
  return host.replace(/:\d+$/, '');
}

function retryProblem(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return 'expected {"ids": [1, 2]} or {"all": true}';
  const { ids, all } = body as { ids?: unknown; all?: unknown };
  if (all === true && ids === undefined) return undefined;
  if (all === undefined && Array.isArray(ids) && ids.length > 0 && ids.every((id) => Number.isSafeInteger(id) && (id as number) > 0)) return undefined;
  return 'expected {"ids": [positive integers]} or {"all": true}';
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new BodyError(`request body larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch (error) {
    throw new BodyError(`request body is not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function send(response: ServerResponse, status: number, type: string, body: string): void {
  response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  response.end(body);
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  send(response, status, 'application/json', `${JSON.stringify(body, null, 2)}\n`);
}
