/**
 * The cloud broker as one replica of a cluster (docs/scale-out.md "The broker cluster"): the engines
 * its Aedes is built on (broker-engines.ts), then, once the broker exists, the view of every
 * replica's clients that edge presence and revocation use (cluster-clients.ts). CloudServer makes one
 * from the `Cluster` when `--redis-url` is given and hands it to the fabric; without it the fabric
 * keeps Aedes' in-memory engines and its own broker's clients (fabric/broker-clients.ts).
 */
import type { FoglineBroker } from '@fogline/shared/broker';
import type { BrokerClients } from '../fabric/broker-clients.ts';
import { type AedesEngines, brokerEngines } from './broker-engines.ts';
import { type Cluster, MAX_RECONNECT_DELAY_MS } from './cluster.ts';
import type { RevokedKind } from './cluster-clients.ts';
import { ClusterClients, MISSED_HEARTBEATS } from './cluster-clients.ts';

export interface BrokerCluster {
  /** Aedes `id`, `mq`, `persistence`, `heartbeatInterval` on the shared Redis. */
  readonly aedes: AedesEngines;
  /**
   * The broker's `staleWill`: an edge taken over by another replica is online there, and the will of
   * its old connection here would arrive after its new `online`.
   */
  staleWill(clientId: string): boolean;
  /**
   * Follows the other replicas through `broker` (built on `aedes`); `onRevoked` runs when another
   * replica revoked an identity (drop what this replica caches for it).
   */
  join(broker: FoglineBroker, onRevoked: (kind: RevokedKind, id: string) => void): Promise<BrokerClients>;
  /** Runs `listener` each time Redis is back after it was lost (Cluster.onReconnected). */
  onReconnected(listener: () => void): () => void;
}

export function brokerCluster(cluster: Cluster, options: { heartbeatMs: number }): BrokerCluster {
  let broker: FoglineBroker | undefined;
  let clients: ClusterClients | undefined;
  const aedes = brokerEngines(cluster, {
    heartbeatMs: options.heartbeatMs,
    connectedElsewhere: (id, deadBroker) =>
      broker?.identityOf(id) !== undefined || clients?.edgeConnectedElsewhere(id, deadBroker) === true,
    stillListed: (id, deadBroker) => clients?.listedOn(id, deadBroker) === true,
    // The others' connections come back up to a retry apart; then their heartbeats must reach us.
    cutOff: () =>
      cluster.msSinceWhole() < MAX_RECONNECT_DELAY_MS + (MISSED_HEARTBEATS + 1) * options.heartbeatMs,
  });
  return {
    aedes,
    staleWill: (id) => clients?.edgeConnectedElsewhere(id) === true,
    async join(joined, onRevoked) {
      broker = joined;
      clients = await ClusterClients.join({ broker: joined, heartbeatMs: options.heartbeatMs, onRevoked });
      return clients;
    },
    onReconnected: (listener) => cluster.onReconnected(listener),
  };
}
