/**
 * Who is connected to the cloud broker, and disconnecting a revoked client, as the rest of the fabric
 * asks it: edge presence wants to know whether an edge's MQTT session is up, the identity service
 * wants a revoked edge or device gone. One process answers from its own broker (`localClients`);
 * replicas on one Redis answer for the whole cluster (cluster/cluster-clients.ts).
 */
import type { Identity } from '@fogline/shared';
import type { FoglineBroker } from '@fogline/shared/broker';

export interface BrokerClients {
  /** Is the edge `id` connected (to this broker, or with a cluster to any replica's)? */
  edgeConnected(id: string): boolean;
  /**
   * Disconnects the client `id` if it is connected as `kind` (edge and device ids are separate
   * namespaces: only the client of the revoked kind goes), wherever it is connected.
   */
  disconnect(id: string, kind: Identity['kind']): void;
  /** Tells the other replicas the API key `name` was revoked (nothing for one process). */
  revokedApiKey(name: string): void;
  /** Stops following the other replicas (nothing for one process). */
  close(): Promise<void>;
}

/** The clients of one process's broker. */
export function localClients(broker: FoglineBroker): BrokerClients {
  return {
    edgeConnected: (id) => broker.identityOf(id)?.kind === 'edge',
    disconnect: (id, kind) => disconnectLocal(broker, id, kind),
    revokedApiKey: () => {},
    close: async () => {},
  };
}

/** Disconnects `id` from `broker` if it is connected there as `kind`; true if it was. */
export function disconnectLocal(broker: FoglineBroker, id: string, kind: Identity['kind']): boolean {
  return broker.identityOf(id)?.kind === kind && broker.revoke(id);
}
