/**
 * The edge's `/metrics` listener (docs/edge-agent.md "Metrics"): off unless a port is given, bound to
 * 127.0.0.1 by default. Bound to any other interface it requires a bearer token (checked in constant
 * time), and refuses to start without one: the metrics name the edge's model, its devices' count and
 * its traffic, which is not for the whole LAN.
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { FoglineError } from '@fogline/shared';
import { listenSide, type SideListener } from './side-listener.ts';

export interface MetricsEndpointOptions {
  /** 0 = a free port. */
  readonly port: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Required (`Authorization: Bearer <token>`) when `host` is not a loopback address. */
  readonly token?: string;
}

export type MetricsEndpoint = SideListener;

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export async function startMetricsEndpoint(
  options: MetricsEndpointOptions,
  render: () => string,
): Promise<MetricsEndpoint> {
  const host = options.host ?? '127.0.0.1';
  const token = options.token;
  if (!LOOPBACK.has(host) && (token === undefined || token === '')) {
    throw new FoglineError(
      'INVALID_ARG',
      `metrics on ${host} would be open to the network: set a token ($FOGLINE_METRICS_TOKEN) or bind 127.0.0.1`,
    );
  }
  const expected = token === undefined ? undefined : Buffer.from(`Bearer ${token}`);
  const server: Server = createServer(
    { headersTimeout: 10_000, requestTimeout: 10_000, connectionsCheckingInterval: 1000 },
    (req, res) => {
      const path = new URL(req.url ?? '/', 'http://edge').pathname;
      if (req.method !== 'GET' || path !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /metrics\n');
        return;
      }
      if (expected && !sameBytes(Buffer.from(req.headers.authorization ?? ''), expected)) {
        res
          .writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer' })
          .end('unauthorized\n');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(render());
    },
  );
  server.maxConnections = 64;
  return listenSide(server, host, options.port, 'metrics');
}

function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
