/**
 * The fogline MQTT broker: Aedes 1.x with fogline's authentication, ACL, limits and transports. The same
 * factory serves the cloud's upstream broker and each edge agent's local broker (docs/design.md "Where the
 * brokers are"); they differ only in their identity resolver and listeners.
 */
import type { EventEmitter } from 'node:events';
import type { Server as HttpServer, IncomingMessage } from 'node:http';
import type { Server as TcpServer } from 'node:net';
import type { Duplex } from 'node:stream';
import { Aedes } from 'aedes';
import { FoglineError } from '../core/errors.ts';
import type { Identity } from '../core/fabric/acl.ts';
import { AuthThrottle } from '../secrets/auth-throttle.ts';
import { cutThrottledAtAccept } from '../secrets/throttled-accept.ts';
import { createAuthorizeHooks } from './authorize-hooks.ts';
import { type BrokerOptions, resolveBrokerOptions } from './broker-options.ts';
import { BrokerStats, type BrokerStatsSnapshot } from './broker-stats.ts';
import { ClientSessions } from './client-sessions.ts';
import { createConnectGuard } from './connect-guard.ts';
import { PacketSizeMeter } from './packet-size-meter.ts';
import { refuseThrottledConnection } from './throttled-connection.ts';
import {
  attachWebSocket,
  boundPort,
  closeServer,
  createWebSocketEndpoint,
  listenTcp,
  listenWebSocket,
} from './transports.ts';

export interface BrokerAddresses {
  /** Bound MQTT over TCP port, when `mqttPort` was given. */
  mqttPort?: number;
  /** Bound standalone WebSocket port, when `wsPort` was given. */
  wsPort?: number;
  /** Path of the WebSocket endpoint (standalone or attached). */
  wsPath: string;
}

export interface PublishOptions {
  qos?: 0 | 1;
  retain?: boolean;
}

export interface FoglineBroker {
  /** The Aedes instance (in-process `publish`/`subscribe` bypass the ACL: for fogline's own code only). */
  readonly aedes: Aedes;
  /** Opens the configured listeners and attaches the WebSocket endpoint; call once. */
  listen(): Promise<BrokerAddresses>;
  /**
   * Publishes from inside the process (no ACL, no rate limit). `payload` is not copied (Aedes may keep
   * it queued): do not change it afterwards.
   */
  publish(topic: string, payload: Uint8Array | string, options?: PublishOptions): Promise<void>;
  /**
   * Disconnects `clientId` at once; true if it was connected. Its will, if any, is not published
   * (and is deleted from the persistence): a revoked identity says nothing more, not even `offline`.
   */
  revoke(clientId: string): boolean;
  /** The failed-authentication budgets this broker enforces (share it with other listeners). */
  readonly authThrottle: AuthThrottle;
  /** Connected clients and their identities. */
  clients(): Array<{ clientId: string; identity: Identity }>;
  /** The identity of the client connected as `clientId`, if one is. */
  identityOf(clientId: string): Identity | undefined;
  stats(): BrokerStatsSnapshot;
  /** Closes listeners, disconnects every client and closes Aedes. Idempotent. */
  close(): Promise<void>;
}

export async function createBroker(options: BrokerOptions): Promise<FoglineBroker> {
  const opts = resolveBrokerOptions(options);
  const stats = new BrokerStats();
  const sessions = new ClientSessions();
  const authThrottle = opts.authThrottle ?? new AuthThrottle({ ...opts.authFailures, clock: opts.clock });
  let aedes: Aedes | undefined;
  const connectedClients = () => aedes?.connectedClients ?? 0;
  aedes = await Aedes.createBroker({
    ...opts.aedes,
    drainTimeout: opts.drainTimeoutMs,
    connectTimeout: opts.connectTimeoutMs,
    // Only MQTT 3.1 (protocol level 3) clients are held to this; fogline ids are up to 64 chars.
    maxClientsIdLength: 64,
    ...createConnectGuard(opts, sessions, stats, connectedClients, authThrottle),
    ...createAuthorizeHooks(opts, sessions, stats, () => aedes!),
  });
  const broker = aedes;
  broker.on('clientDisconnect', (client) => sessions.release(client));
  // Aedes emits 'error' on persistence failures; without a listener that would crash the process.
  const emitter: EventEmitter = broker;
  emitter.on('error', (err: unknown) => opts.logger.warn('broker error', { error: String(err) }));

  const streams = new Set<Duplex>();
  let closing = false;
  const sink = (stream: Duplex, request?: IncomingMessage) => {
    if (closing) {
      stream.destroy();
      return;
    }
    streams.add(stream);
    stream.once('close', () => streams.delete(stream));
    const address = request?.socket?.remoteAddress ?? (stream as { remoteAddress?: string }).remoteAddress;
    // Spent since its accept (during a TLS handshake or a WebSocket upgrade): a refusing CONNACK.
    if (authThrottle.blockedFor(address) > 0) {
      stats.connectRefused['auth-throttled']++;
      refuseThrottledConnection(stream, opts.connectTimeoutMs);
      return;
    }
    broker.handle(stream, request);
    // Added after Aedes' 'readable' listener, 'data' only observes what Aedes reads (no flowing mode).
    const meter = new PacketSizeMeter(opts.maxPacketBytes);
    const onData = (chunk: Buffer) => {
      const size = meter.feed(chunk);
      if (size === 0) return;
      stream.off('data', onData);
      stats.oversizedPackets++;
      opts.logger.warn('MQTT packet over maxPacketBytes; connection closed', {
        size,
        max: opts.maxPacketBytes,
      });
      stream.destroy();
    };
    stream.on('data', onData);
  };

  const servers: Array<TcpServer | HttpServer> = [];
  // The listeners this broker opens cut throttled addresses at accept; an attached `httpServer`'s
  // owner does so for its own server (the cloud's HTTP listener).
  const cutAtAccept = (server: TcpServer | HttpServer) => {
    cutThrottledAtAccept(server, authThrottle, () => stats.connectRefused['auth-throttled-at-accept']++);
    servers.push(server);
  };
  // ws buffers whole frames: bound them too (loosely, a frame may carry several small packets).
  const wsEndpoint = createWebSocketEndpoint(opts.wsPath, Math.max(4 * opts.maxPacketBytes, 1 << 20), sink);
  let detach: (() => void) | undefined;
  let listening = false;

  return {
    aedes: broker,
    authThrottle,
    async listen() {
      if (listening) throw new FoglineError('INVALID_ARG', 'broker.listen() was already called');
      if (closing) throw new FoglineError('UNAVAILABLE', 'broker is closed');
      listening = true;
      const addresses: BrokerAddresses = { wsPath: opts.wsPath };
      const limits = { maxConnections: opts.maxConnections, handshakeTimeoutMs: opts.connectTimeoutMs };
      if (opts.mqttPort !== undefined) {
        const server = await listenTcp(
          { host: opts.host, port: opts.mqttPort, tls: opts.tls, ...limits },
          sink,
        );
        cutAtAccept(server);
        addresses.mqttPort = boundPort(server);
      }
      if (opts.wsPort !== undefined) {
        const server = await listenWebSocket(
          { host: opts.host, port: opts.wsPort, tls: opts.tls, ...limits },
          wsEndpoint,
        );
        cutAtAccept(server);
        addresses.wsPort = boundPort(server);
      }
      if (opts.httpServer) detach = attachWebSocket(opts.httpServer, wsEndpoint);
      return addresses;
    },
    publish(topic, payload, publishOptions = {}) {
      return new Promise((resolve, reject) => {
        broker.publish(
          {
            cmd: 'publish',
            topic,
            // A view, not a copy: what fogline publishes is encoded for this message and never reused.
            payload:
              typeof payload === 'string'
                ? Buffer.from(payload)
                : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength),
            qos: publishOptions.qos ?? 1,
            retain: publishOptions.retain ?? false,
            dup: false,
          },
          (err) => (err ? reject(err) : resolve()),
        );
      });
    },
    revoke(clientId) {
      const holder = sessions.holder(clientId);
      if (!holder) return false;
      stats.revoked++;
      holder.session.revoked = true;
      holder.client.close();
      return true;
    },
    clients: () => sessions.connected(),
    identityOf: (clientId) => sessions.holder(clientId)?.session.identity,
    stats: () => stats.snapshot(connectedClients()),
    async close() {
      if (closing) return;
      closing = true;
      detach?.();
      wsEndpoint.close();
      const serversClosed = servers.map(closeServer);
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      for (const stream of streams) stream.destroy();
      await Promise.all(serversClosed);
    },
  };
}
