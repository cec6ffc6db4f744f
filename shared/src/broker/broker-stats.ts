/** Counters of a fogline broker: what it refused, dropped and why. Exposed by `broker.stats()`. */
import type { AclRefusal } from '../core/fabric/acl.ts';

export type ConnectRefusal =
  /** Unknown client id or wrong token ([MQTT-3.2.2] return code 4). */
  | 'bad-credentials'
  /** MQTT username is not the client id (return code 4). */
  | 'username-mismatch'
  /** The client id is connected with other credentials (return code 2). */
  | 'client-id-taken'
  /** The will topic is outside the client's ACL (return code 5). */
  | 'will-topic'
  /** The identity resolver failed (return code 3, server unavailable). */
  | 'resolver-error'
  /** Over the broker-wide connection rate (closed before CONNACK). */
  | 'throttled'
  /** The client's address is over its failed-authentication budget (return code 3, no lookup). */
  | 'auth-throttled'
  /**
   * The client's address was over its failed-authentication budget when its connection was accepted:
   * destroyed at accept, before any TLS handshake or read (throttled-accept.ts).
   */
  | 'auth-throttled-at-accept'
  /**
   * The checks in flight from the client's address held its whole failure budget, and its wait for
   * one to settle ran out or its address's queue was full (closed before CONNACK; the client retries).
   */
  | 'auth-busy'
  /** maxClients reached (closed before CONNACK). */
  | 'max-clients';

export interface BrokerStatsSnapshot {
  connectedClients: number;
  connectionsAccepted: number;
  connectRefused: Record<ConnectRefusal, number>;
  publishRefused: Record<AclRefusal, number>;
  subscribeRefused: Record<AclRefusal, number>;
  /** Publishes dropped by the per-client token bucket. */
  rateLimited: number;
  /** Device reports accepted, and dropped over the per-device report bucket (`reportRate`). */
  reportsAccepted: number;
  reportsDropped: number;
  /** Connections closed because a packet exceeded maxPacketBytes. */
  oversizedPackets: number;
  /** Clients disconnected by `revoke()`. */
  revoked: number;
  /** Error replies the broker sent to devices (rate limited / refused publish). */
  errorReplies: number;
}

const aclZero = (): Record<AclRefusal, number> => ({ wildcard: 0, topic: 0, identity: 0 });

export class BrokerStats {
  connectionsAccepted = 0;
  rateLimited = 0;
  reportsAccepted = 0;
  reportsDropped = 0;
  oversizedPackets = 0;
  revoked = 0;
  errorReplies = 0;
  readonly connectRefused: Record<ConnectRefusal, number> = {
    'bad-credentials': 0,
    'username-mismatch': 0,
    'client-id-taken': 0,
    'will-topic': 0,
    'resolver-error': 0,
    throttled: 0,
    'auth-throttled': 0,
    'auth-throttled-at-accept': 0,
    'auth-busy': 0,
    'max-clients': 0,
  };
  readonly publishRefused = aclZero();
  readonly subscribeRefused = aclZero();

  snapshot(connectedClients: number): BrokerStatsSnapshot {
    return {
      connectedClients,
      connectionsAccepted: this.connectionsAccepted,
      connectRefused: { ...this.connectRefused },
      publishRefused: { ...this.publishRefused },
      subscribeRefused: { ...this.subscribeRefused },
      rateLimited: this.rateLimited,
      reportsAccepted: this.reportsAccepted,
      reportsDropped: this.reportsDropped,
      oversizedPackets: this.oversizedPackets,
      revoked: this.revoked,
      errorReplies: this.errorReplies,
    };
  }
}
