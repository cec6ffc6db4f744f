/**
 * Options of `createBroker`: one typed defaults object, units in names, validated once and frozen
 * (like Aedes' `defaultOptions`). Everything a fogline broker enforces is configured here.
 */
import type { Server as HttpServer } from 'node:http';
import type { AedesOptions } from 'aedes';
import { type Clock, systemClock } from '../core/clock.ts';
import { FoglineError } from '../core/errors.ts';
import type { Identity } from '../core/fabric/acl.ts';
import {
  checkFields,
  intAtLeast,
  optionChecker,
  portOrZero,
  positive,
  positiveInt,
  rule,
} from '../core/options.ts';
import {
  AUTH_THROTTLE_DEFAULTS,
  type AuthThrottle,
  type AuthThrottleOptions,
} from '../secrets/auth-throttle.ts';
import type { ServerTls } from '../tls/server-tls.ts';

/**
 * Maps the credentials of a CONNECT (MQTT username = client id, password = token) to an identity, or
 * null to refuse them. It must return an identity whose `id` is `clientId`. It may be called on every
 * (re)connect, so cache successful verifications. A throw refuses the connection as "server unavailable".
 */
export type IdentityResolver = (clientId: string, token: string) => Promise<Identity | null>;

export interface RateOptions {
  ratePerSec: number;
  burst: number;
}

export interface BrokerLogger {
  warn(message: string, fields?: Record<string, unknown>): void;
}

export interface BrokerOptions {
  resolveIdentity: IdentityResolver;
  /** Interface the TCP and standalone WebSocket listeners bind to. Default 127.0.0.1; '0.0.0.0' for a LAN. */
  host?: string;
  /** MQTT over TCP port; 0 = a free port; undefined = no TCP listener. */
  mqttPort?: number;
  /** MQTT over WebSocket on its own HTTP listener; 0 = a free port; undefined = none. */
  wsPort?: number;
  /** Attach MQTT over WebSocket to this existing HTTP server (upgrade requests on `wsPath`). */
  httpServer?: HttpServer;
  /** Path of the WebSocket endpoint. Default '/mqtt' (MQTT.js default). */
  wsPath?: string;
  /**
   * Serve the TCP and standalone WebSocket listeners over TLS (MQTTS, WSS) with this certificate; its
   * `reload()` reaches them. An attached `httpServer` is TLS or not on its own.
   */
  tls?: ServerTls;
  /** Per-client token bucket on PUBLISH. Default 50/s, burst 100. */
  publishRate?: RateOptions;
  /**
   * Per-device token bucket on its reports (`topics.report`), apart from `publishRate`: reports never
   * take a request's tokens. Over it, a report is dropped and counted (`reportsDropped`). Default 5/s, burst 20.
   */
  reportRate?: RateOptions;
  /** Broker-wide limit on new connections (CONNECT packets) per second. Default 200/s, burst 400. */
  connectRate?: RateOptions;
  /**
   * Failed authentications (docs/security.md "Authentication cost"): per source address (default 2/s,
   * burst 20; past it a CONNECT is refused with return code 3 before any lookup and without taking from
   * `connectRate`), and per client id (default 1/s, burst 10; past it a refusal waits
   * `idFailureDelayMs`, 1 s). A right token is never delayed.
   */
  authFailures?: Omit<AuthThrottleOptions, 'clock'>;
  /** An AuthThrottle to share with other listeners (the cloud's HTTP gateway); else one of `authFailures`. */
  authThrottle?: AuthThrottle;
  /** Most clients connected at once; further CONNECTs are refused. Default 10 000. */
  maxClients?: number;
  /**
   * Sockets open at once on each TCP and standalone WebSocket listener, authenticated or not; past it a
   * new socket is closed on accept (before any work). Default 11 000 (maxClients' default + room for
   * connections under way).
   */
  maxConnections?: number;
  /** Largest MQTT packet a client may send (fixed header included); bigger → disconnected. Default 256 KiB. */
  maxPacketBytes?: number;
  /** Aedes drainTimeout: a client that does not drain its socket for this long is dropped. Default 10 s. */
  drainTimeoutMs?: number;
  /** Time a new connection has to finish its TLS handshake, and again to send CONNECT. Default 10 s. */
  connectTimeoutMs?: number;
  clock?: Clock;
  logger?: BrokerLogger;
  /**
   * Brokers sharing one Redis (docs/scale-out.md "The broker cluster"): true when `clientId` is now
   * connected to another broker of the cluster, so the will of its connection here is stale (a takeover
   * from another replica); it is then dropped, not published. Default: every will is published.
   */
  staleWill?: (clientId: string) => boolean;
  /** Passed through to Aedes (e.g. `id`, `mq` and `persistence` for Redis scale-out). Hooks are fogline's. */
  aedes?: Pick<
    AedesOptions,
    'id' | 'mq' | 'persistence' | 'concurrency' | 'heartbeatInterval' | 'queueLimit'
  >;
}

type OptionalOption = 'mqttPort' | 'wsPort' | 'httpServer' | 'aedes' | 'tls' | 'authThrottle' | 'staleWill';

export type ResolvedBrokerOptions = Readonly<
  Required<Omit<BrokerOptions, OptionalOption>> & Pick<BrokerOptions, OptionalOption>
>;

const silentLogger: BrokerLogger = { warn: () => {} };

export const BROKER_DEFAULTS = Object.freeze({
  host: '127.0.0.1',
  wsPath: '/mqtt',
  publishRate: Object.freeze({ ratePerSec: 50, burst: 100 }),
  reportRate: Object.freeze({ ratePerSec: 5, burst: 20 }),
  connectRate: Object.freeze({ ratePerSec: 200, burst: 400 }),
  authFailures: AUTH_THROTTLE_DEFAULTS,
  maxClients: 10_000,
  maxConnections: 11_000,
  maxPacketBytes: 256 * 1024,
  drainTimeoutMs: 10_000,
  connectTimeoutMs: 10_000,
});

/** What each option may be; the CLI parses its broker flags with the same rules. */
export const BROKER_RULES = Object.freeze({
  mqttPort: portOrZero,
  wsPort: portOrZero,
  wsPath: rule<string>('a path starting with "/"', (v) => typeof v === 'string' && v.startsWith('/')),
  maxClients: positiveInt,
  maxConnections: positiveInt,
  maxPacketBytes: positiveInt,
  drainTimeoutMs: positiveInt,
  connectTimeoutMs: positiveInt,
});

/** Publish and connect rates: tokens per second and bucket size, both > 0. */
export const RATE_RULES = Object.freeze({ ratePerSec: positive, burst: positive });

/** Failed-authentication budgets: forgiven per second > 0, burst a whole number ≥ 1. */
export const FAILURE_RULES = Object.freeze({ ratePerSec: positive, burst: positiveInt });

const check = optionChecker('broker options');

export function resolveBrokerOptions(options: BrokerOptions): ResolvedBrokerOptions {
  if (typeof options?.resolveIdentity !== 'function') {
    throw new FoglineError('INVALID_ARG', 'broker options: resolveIdentity must be a function');
  }
  const resolved = {
    ...BROKER_DEFAULTS,
    clock: systemClock,
    logger: silentLogger,
    ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
  } as ResolvedBrokerOptions;
  checkFields(check, resolved, BROKER_RULES);
  checkFields(check, resolved.publishRate, RATE_RULES, 'publishRate.');
  checkFields(check, resolved.reportRate, RATE_RULES, 'reportRate.');
  checkFields(check, resolved.connectRate, RATE_RULES, 'connectRate.');
  const failures = resolved.authFailures;
  if (failures.perAddress) checkFields(check, failures.perAddress, FAILURE_RULES, 'authFailures.perAddress.');
  if (failures.perId) checkFields(check, failures.perId, FAILURE_RULES, 'authFailures.perId.');
  if (failures.idFailureDelayMs !== undefined) {
    check('authFailures.idFailureDelayMs', failures.idFailureDelayMs, intAtLeast(0));
  }
  if (failures.maxTracked !== undefined) check('authFailures.maxTracked', failures.maxTracked, positiveInt);
  return Object.freeze(resolved);
}
