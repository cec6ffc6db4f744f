/**
 * Network listeners of a fogline broker: MQTT over TCP, and MQTT over WebSocket ([MQTT-6.0.0]: binary
 * frames, subprotocol "mqtt") either on its own HTTP listener or on an existing HTTP server at a path.
 * With a certificate (`ServerTls`) the same listeners speak TLS: MQTTS and WSS ([MQTT-5.0]).
 */
import {
  createServer as createHttpServer,
  type Server as HttpServer,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import {
  type AddressInfo,
  createServer as createTcpServer,
  type Socket,
  type Server as TcpServer,
} from 'node:net';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer } from 'node:tls';
import { createWebSocketStream, WebSocketServer } from 'ws';
import type { ServerTls } from '../tls/server-tls.ts';
import { coalesceWrites } from './write-coalescing.ts';

/** Receives every new connection as a byte stream. */
export type ConnectionSink = (stream: Duplex, request?: IncomingMessage) => void;

/** Where a listener binds, and what it holds to. */
export interface ListenerSettings {
  readonly host: string;
  readonly port: number;
  /** Serve TLS with this certificate (reloadable). */
  readonly tls?: ServerTls;
  /** Sockets open at once on this listener; past it new ones are closed on accept. */
  readonly maxConnections: number;
  /** A TLS handshake not done within this is cut (a connect that never sends its ClientHello). */
  readonly handshakeTimeoutMs: number;
}

export async function listenTcp(settings: ListenerSettings, sink: ConnectionSink): Promise<TcpServer> {
  const accept = (socket: Socket) => {
    if (socket.destroyed) return; // cut at accept (throttled-accept.ts)
    socket.setNoDelay(true);
    coalesceWrites(socket);
    sink(socket);
  };
  const { tls } = settings;
  // TLS: the stream handed to Aedes is the decrypted one, after the handshake.
  const server = tls
    ? createTlsServer({ ...tls.options, handshakeTimeout: settings.handshakeTimeoutMs }, accept)
    : createTcpServer(accept);
  if (tls) tls.serve(server as ReturnType<typeof createTlsServer>);
  server.maxConnections = settings.maxConnections;
  await listen(server, settings.host, settings.port);
  return server;
}

export interface WebSocketEndpoint {
  /** Handles an HTTP upgrade; false when the path is not ours (another handler may take it). */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  close(): void;
}

export function createWebSocketEndpoint(
  path: string,
  maxPayloadBytes: number,
  sink: ConnectionSink,
): WebSocketEndpoint {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: maxPayloadBytes,
    // [MQTT-6.0.0-3]: the subprotocol is "mqtt" (MQTT.js also offers "mqttv3.1" for 3.1 clients).
    handleProtocols: (protocols) =>
      protocols.has('mqtt') ? 'mqtt' : (protocols.values().next().value ?? false),
  });
  wss.on('connection', (ws, request: IncomingMessage) => {
    const stream = createWebSocketStream(ws);
    // A peer that vanishes mid-frame makes the stream error; Aedes also listens, this avoids an uncaught one.
    stream.on('error', () => {});
    sink(stream, request);
  });
  return {
    handleUpgrade(request, socket, head) {
      const url = new URL(request.url ?? '/', 'http://localhost');
      if (url.pathname !== path) return false;
      wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
      return true;
    },
    close() {
      for (const client of wss.clients) client.terminate();
      wss.close();
    },
  };
}

/** MQTT over WebSocket on its own HTTP listener; other paths and plain requests get 404. */
export async function listenWebSocket(
  settings: ListenerSettings,
  endpoint: WebSocketEndpoint,
): Promise<HttpServer> {
  const notFound = (_req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: 'MQTT over WebSocket only' }));
  };
  const { tls } = settings;
  // Only upgrades are served: the request line and headers are due within the connect timeout.
  const limits = {
    headersTimeout: settings.handshakeTimeoutMs,
    requestTimeout: settings.handshakeTimeoutMs,
    connectionsCheckingInterval: Math.min(1000, settings.handshakeTimeoutMs),
  };
  const server: HttpServer = tls
    ? createHttpsServer(
        { ...tls.options, ...limits, handshakeTimeout: settings.handshakeTimeoutMs },
        notFound,
      )
    : createHttpServer(limits, notFound);
  if (tls) tls.serve(server as ReturnType<typeof createHttpsServer>);
  server.maxConnections = settings.maxConnections;
  server.on('upgrade', (request, socket, head) => {
    if (!endpoint.handleUpgrade(request, socket, head)) refuseUpgrade(socket);
  });
  await listen(server, settings.host, settings.port);
  return server;
}

/** Attaches the endpoint to an existing server; returns the detach function. */
export function attachWebSocket(server: HttpServer, endpoint: WebSocketEndpoint): () => void {
  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Not our path: leave it to the server's other upgrade handlers, or refuse if there are none.
    if (!endpoint.handleUpgrade(request, socket, head) && server.listenerCount('upgrade') === 1) {
      refuseUpgrade(socket);
    }
  };
  server.on('upgrade', onUpgrade);
  return () => server.off('upgrade', onUpgrade);
}

function refuseUpgrade(socket: Duplex): void {
  socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
}

function listen(server: TcpServer | HttpServer, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

export function boundPort(server: TcpServer | HttpServer): number {
  return (server.address() as AddressInfo).port;
}

export function closeServer(server: TcpServer | HttpServer): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
