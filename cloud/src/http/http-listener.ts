/**
 * Serves a fetch-style app (Hono) on a node:http server with graceful shutdown. Each request meets
 * the `gate` first, then the `direct` handler (the cloud's plain infer requests, served on node's
 * request and response: infer-direct.ts), then the app through @hono/node-server. `close()` stops
 * accepting connections, lets in-flight requests finish (their responses say `Connection: close`),
 * closes idle keep-alive sockets, and after `timeoutMs` cuts whatever is left. With a certificate it
 * serves HTTPS (and the MQTT WebSocket attached to it is WSS). Slow clients are bounded
 * (`HttpLimits`): headers due within `headersTimeoutMs`, the whole request within `requestTimeoutMs`
 * of its first byte (a deadline, not an idle timer a trickle could reset), and at most
 * `maxConnections` sockets.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { FoglineError } from '@fogline/shared';
import type { ServerTls } from '@fogline/shared/tls';
import { getRequestListener } from '@hono/node-server';

export interface HttpListener {
  readonly server: Server;
  readonly port: number;
  readonly host: string;
  /** Requests being handled right now. */
  readonly inFlight: number;
  close(timeoutMs: number): Promise<void>;
}

export interface ListenOptions {
  port: number;
  host: string;
  /** Flag to name when the port is taken (e.g. `--http-port`). */
  flag?: string;
  /** Serve HTTPS with this certificate (its `reload()` reaches this server). */
  tls?: ServerTls;
  /** Default DEFAULT_HTTP_LIMITS. */
  limits?: HttpLimits;
  /**
   * Asked first for every request: a number refuses it at once with 429 and that Retry-After (ms),
   * before routing, and closes its connection (the cheap refusal of an address over its
   * failed-authentication budget).
   */
  gate?: (req: IncomingMessage) => number | undefined;
  /**
   * Tried next, before the app: true when it took the request and answers it on `res` itself (the
   * cloud's plain infer requests, infer-direct.ts). It must not throw.
   */
  direct?: DirectHandler;
}

export type DirectHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

/** Bounds on what a client may hold (docs/operations.md "Slow clients and caps"). */
export interface HttpLimits {
  /** Request line and headers must arrive within this of the request's first byte. */
  readonly headersTimeoutMs: number;
  /** The whole request (headers and body) must arrive within this of its first byte. */
  readonly requestTimeoutMs: number;
  /** Sockets open at once (MQTT over WebSocket included); past it new ones are closed on accept. */
  readonly maxConnections: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = Object.freeze({
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  maxConnections: 10_000,
});

export type FetchApp = { fetch: (request: Request, env: unknown) => Response | Promise<Response> };

export async function listenHttp(app: FetchApp, options: ListenOptions): Promise<HttpListener> {
  const listener = getRequestListener((req, env) => app.fetch(req, env));
  const active = new Set<ServerResponse>();
  let closing = false;
  let onDrained: (() => void) | undefined;

  // One listener for every response (`this` is the response): no closure per request.
  function onResponseClose(this: ServerResponse): void {
    active.delete(this);
    if (active.size === 0) onDrained?.();
  }
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    active.add(res);
    if (closing) res.setHeader('connection', 'close');
    res.on('close', onResponseClose); // emitted once
    const retryAfterMs = options.gate?.(req);
    if (retryAfterMs === undefined) {
      if (options.direct?.(req, res)) return;
      // A failure the adapter could not turn into a response (writing to a response already sent or
      // gone) cuts this connection; as an unhandled rejection it would end the process.
      listener(req, res).catch(() => res.destroy());
      return;
    }
    req.resume();
    // The connection ends with this answer: the address's next request comes through accept, where a
    // throttled address is cut before any parsing.
    res.writeHead(429, {
      connection: 'close',
      'content-type': 'application/json',
      'retry-after': String(Math.max(1, Math.ceil(retryAfterMs / 1000))),
    });
    res.end(
      JSON.stringify({
        error: `too many failed authentications from ${req.socket.remoteAddress}; retry in ${retryAfterMs} ms`,
      }),
    );
  };
  const { tls } = options;
  const limits = options.limits ?? DEFAULT_HTTP_LIMITS;
  const timeouts = {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    // Node checks both timeouts on this period (default 30 s): a slow client could outlive them by it.
    connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
  };
  const server: Server = tls
    ? createHttpsServer({ ...tls.options, ...timeouts, handshakeTimeout: limits.headersTimeoutMs }, handle)
    : createServer(timeouts, handle);
  if (tls) tls.serve(server as ReturnType<typeof createHttpsServer>);
  server.maxConnections = limits.maxConnections;
  // Longer than typical load balancers' idle timeout, so they close first (no reset races).
  server.keepAliveTimeout = 65_000;

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      const flag = options.flag ?? 'the port option';
      if (err.code === 'EADDRINUSE') {
        reject(
          new FoglineError(
            'UNAVAILABLE',
            `port ${options.port} is already in use; choose another with ${flag}`,
          ),
        );
      } else if (err.code === 'EACCES') {
        reject(
          new FoglineError(
            'PERMISSION_DENIED',
            `not allowed to bind port ${options.port}; choose another with ${flag}`,
          ),
        );
      } else {
        reject(
          new FoglineError('UNAVAILABLE', `cannot listen on ${options.host}:${options.port}: ${err.message}`),
        );
      }
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(options.port, options.host);
  });
  const address = server.address() as AddressInfo;

  return {
    server,
    port: address.port,
    host: options.host,
    get inFlight() {
      return active.size;
    },
    async close(timeoutMs) {
      if (closing) return;
      closing = true;
      // In-flight responses end their connection when done instead of keeping it alive.
      for (const res of active) if (!res.headersSent) res.setHeader('connection', 'close');
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const drained =
        active.size === 0
          ? Promise.resolve()
          : new Promise<void>((resolve) => {
              onDrained = resolve;
            });
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      });
      await Promise.race([drained, deadline]);
      server.closeIdleConnections();
      await Promise.race([closed, deadline]);
      clearTimeout(timer);
      // Past the deadline: cut whatever is still open.
      server.closeAllConnections();
      await closed;
    },
  };
}
