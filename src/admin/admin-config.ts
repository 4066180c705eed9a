import { isIP } from 'node:net';
import { z } from 'zod';

/** Where the admin endpoint listens: "host:port", an IPv6 host in brackets ("[::1]:9464"). */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export function parseListen(listen: string): ListenAddress | undefined {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(listen);
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  if (host === undefined || !Number.isInteger(port) || port > 65_535) return undefined;
  return { host, port };
}

export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1';
  return false;
}

/**
 * The admin endpoint (metrics, health, live status, dead-letter retry). It has no authentication,
 * so it listens on loopback only unless the operator says otherwise in so many words.
 */
export const adminConfig = z
  .object({
    enabled: z.boolean().default(true).describe('serve the admin endpoint (`pubsync status` and `dlq retry` use it while the daemon runs)'),
    listen: z
      .string()
      .default('127.0.0.1:0')
      .describe('host:port to listen on; port 0 picks a free port (the daemon writes the bound address next to the state database)'),
    allowRemote: z
      .boolean()
      .default(false)
      .describe('allow a non-loopback listen address: the endpoint has no authentication, put it behind a firewall or proxy'),
  })
  .strict()
  .superRefine((admin, ctx) => {
    const address = parseListen(admin.listen);
    if (!address) {
      ctx.addIssue({ code: 'custom', path: ['listen'], message: `expected host:port (e.g. 127.0.0.1:9464 or [::1]:0), got "${admin.listen}"` });
    } else if (!admin.allowRemote && !isLoopbackHost(address.host)) {
      ctx.addIssue({
        code: 'custom',
        path: ['listen'],
        message: `${address.host} is not a loopback address: the admin endpoint has no authentication; set admin.allowRemote: true to serve it there anyway`,
      });
    }
  });

export type AdminConfig = z.infer<typeof adminConfig>;
