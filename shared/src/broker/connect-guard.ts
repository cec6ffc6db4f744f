/**
 * CONNECT handling: connection throttling (`preConnect`) and authentication (`authenticate`).
 * MQTT username = client id, password = token (docs/design.md "Protocols"). Return codes per [MQTT-3.2.2.3].
 *
 * Failed authentications are bounded by an AuthThrottle (docs/security.md "Authentication cost"): a
 * CONNECT from an address over its failure budget takes nothing from the broker-wide `connectRate`
 * and is refused with return code 3 (server unavailable; MQTT 5: 0x88) before any lookup; one from
 * an address whose checks in flight hold its whole budget waits for one to settle (no lookup while
 * it waits; closed without CONNACK if the wait runs out); a wrong token past its client id's failure
 * budget is refused after a delay, a right one at once.
 */
import type { IncomingMessage } from 'node:http';
import type { Aedes, AuthErrorCode, AuthenticateError, Client, ConnectPacket } from 'aedes';
import { canPublish } from '../core/fabric/acl.ts';
import { TokenBucket } from '../core/token-bucket.ts';
import type { AuthThrottle, ReserveResult } from '../secrets/auth-throttle.ts';
import type { ResolvedBrokerOptions } from './broker-options.ts';
import type { BrokerStats, ConnectRefusal } from './broker-stats.ts';
import { type ClientSessions, credentialFingerprint } from './client-sessions.ts';

type AedesHooks = Pick<Aedes, 'preConnect' | 'authenticate'>;

// [MQTT-3.2.2.3] CONNACK return codes (AuthErrorCode is a const enum, so spelled out here).
const IDENTIFIER_REJECTED = 2 as AuthErrorCode;
const SERVER_UNAVAILABLE = 3 as AuthErrorCode;
const BAD_USERNAME_OR_PASSWORD = 4 as AuthErrorCode;
const NOT_AUTHORIZED = 5 as AuthErrorCode;

/** The client's remote address: its socket's, or for MQTT over WebSocket its upgrade request's. */
export function clientAddress(client: Client): string | undefined {
  const req = (client as { req?: IncomingMessage }).req;
  return req?.socket?.remoteAddress ?? (client.conn as { remoteAddress?: string }).remoteAddress;
}

export function createConnectGuard(
  options: ResolvedBrokerOptions,
  sessions: ClientSessions,
  stats: BrokerStats,
  connectedClients: () => number,
  throttle: AuthThrottle,
): AedesHooks {
  const connectBucket = new TokenBucket({ ...options.connectRate, clock: options.clock });
  /** Will messages seen in preConnect, checked against the ACL once the identity is known. */
  const wills = new WeakMap<Client, ConnectPacket['will']>();
  /** Each client's hold on its address's failure budget, made in preConnect, settled in authenticate. */
  const gates = new WeakMap<Client, ReserveResult>();

  const preConnect: Aedes['preConnect'] = (client, packet, callback) => {
    // Refused here, the connection is closed without CONNACK: a client retries later, as after a
    // network error (a CONNACK refusal would stop MQTT.js from reconnecting at all).
    if (connectedClients() >= options.maxClients) {
      stats.connectRefused['max-clients']++;
      return callback(new Error(`broker full: ${options.maxClients} clients connected`), false);
    }
    const address = clientAddress(client);
    // A connection gone before authenticate (or one Aedes refuses before it: protocol level,
    // keepalive) gives up its wait, or its hold, unchecked.
    const closed = new AbortController();
    client.conn.once('close', () => {
      closed.abort();
      const gate = gates.get(client);
      gates.delete(client);
      if (gate?.ok) gate.reservation.release();
    });
    Promise.resolve(throttle.reserve(address, closed.signal)).then((gate) => {
      if (!gate.ok && gate.reason === 'busy') {
        stats.connectRefused['auth-busy']++;
        options.logger.warn('MQTT connect refused: too many credential checks under way from its address', {
          clientId: packet.clientId,
          reason: 'auth-busy',
        });
        return callback(
          new Error(`too many credential checks under way from ${address}; retry later`),
          false,
        );
      }
      if (closed.signal.aborted) {
        if (gate.ok) gate.reservation.release();
        return callback(new Error('connection closed'), false);
      }
      // Refused in authenticate with a CONNACK; it must not use up the rate valid clients connect at.
      gates.set(client, gate);
      if (!gate.ok) return callback(null, true);
      if (!connectBucket.tryTake().ok) {
        gates.delete(client);
        gate.reservation.release(); // not an authentication: the budget keeps its token
        stats.connectRefused.throttled++;
        return callback(new Error('too many new connections per second; retry later'), false);
      }
      if (packet.will) wills.set(client, packet.will);
      callback(null, true);
    }, handlingFailed(packet.clientId));
  };

  /**
   * What a throw inside Aedes' callbacks (or a resolver that throws instead of rejecting) becomes:
   * a log line, never an unhandled rejection, which would end the process on one client's CONNECT.
   */
  const handlingFailed = (clientId: string | undefined) => (err: unknown) =>
    options.logger.warn('MQTT connect handling failed', { clientId, error: String(err) });

  const authenticate: Aedes['authenticate'] = (client, username, password, done) => {
    const will = wills.get(client);
    wills.delete(client);
    const gate = gates.get(client);
    gates.delete(client);
    const address = clientAddress(client);
    const refuse = (reason: ConnectRefusal, returnCode: AuthErrorCode, message: string, delayMs = 0) => {
      stats.connectRefused[reason]++;
      options.logger.warn(`MQTT connect refused: ${message}`, { clientId: client.id, reason });
      const error = new Error(message) as AuthenticateError;
      error.returnCode = returnCode;
      if (delayMs > 0) setTimeout(() => done(error, false), delayMs).unref();
      else done(error, false);
    };
    if (gate === undefined) {
      // The connection closed after preConnect: its hold went back then, and nothing is checked.
      const error = new Error('connection closed') as AuthenticateError;
      error.returnCode = SERVER_UNAVAILABLE;
      return done(error, false);
    }
    const clientId = client.id;
    if (!gate.ok) {
      return refuse(
        'auth-throttled',
        SERVER_UNAVAILABLE,
        `too many failed authentications from ${address}; retry in ${gate.retryAfterMs} ms`,
      );
    }
    const { reservation } = gate;
    if (username !== clientId) {
      reservation.failed();
      return refuse('username-mismatch', BAD_USERNAME_OR_PASSWORD, 'MQTT username must be the client id');
    }
    if (!password || password.length === 0) {
      reservation.failed();
      return refuse('bad-credentials', BAD_USERNAME_OR_PASSWORD, 'missing token (MQTT password)');
    }
    const token = password.toString('utf8');
    lookup(clientId, token)
      .then(
        (identity) => {
          if (!identity || identity.id !== clientId) {
            const delayMs = reservation.failed(clientId);
            return refuse(
              'bad-credentials',
              BAD_USERNAME_OR_PASSWORD,
              'unknown client id or wrong token',
              delayMs,
            );
          }
          reservation.release();
          const fingerprint = credentialFingerprint(token);
          const holder = sessions.holder(clientId);
          // docs/design.md: a client id already connected with other credentials is refused; with the same
          // credentials the new connection takes over the session ([MQTT-3.1.4-2]).
          if (holder && holder.session.credentialFingerprint !== fingerprint) {
            return refuse(
              'client-id-taken',
              IDENTIFIER_REJECTED,
              'client id is connected with other credentials',
            );
          }
          if (will && !canPublish(identity, will.topic).allowed) {
            return refuse('will-topic', NOT_AUTHORIZED, `will topic "${will.topic}" is not allowed`);
          }
          const publishBucket = new TokenBucket({ ...options.publishRate, clock: options.clock });
          const reportBucket = new TokenBucket({ ...options.reportRate, clock: options.clock });
          sessions.set(client, { identity, credentialFingerprint: fingerprint, publishBucket, reportBucket });
          stats.connectionsAccepted++;
          done(null, true);
        },
        (err: unknown) => {
          reservation.release(); // nothing was found wrong
          options.logger.warn('identity resolver failed', { clientId, error: String(err) });
          refuse('resolver-error', SERVER_UNAVAILABLE, 'credentials cannot be checked right now');
        },
      )
      .catch(handlingFailed(clientId));
  };

  /** The resolver's answer, a synchronous throw included, as a promise. */
  const lookup = async (clientId: string, token: string) => options.resolveIdentity(clientId, token);

  return { preConnect, authenticate };
}
