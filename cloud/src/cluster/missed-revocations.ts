/**
 * Revocations a replica missed (docs/scale-out.md "The broker cluster"): they reach the other
 * replicas as QoS 0 messages over Redis pub/sub, so one sent while this replica's subscriber was down
 * never arrives. Once the cluster is whole again, the store lists the revoked ids (those only, not
 * the whole fleet), and each is handled as if its message had come (cached credentials forgotten,
 * its client here disconnected), so a revoked edge or device stops working on this replica too. (A missed API key
 * revocation ends when this replica's cached verification of the key expires, within 60 s.)
 */
import type { FoglineBroker } from '@fogline/shared/broker';
import { disconnectLocal } from '../fabric/broker-clients.ts';
import type { Store } from '../store/index.ts';
import type { RevokedKind } from './cluster-clients.ts';

/** Applies every revocation in the store on this replica; resolves to how many clients it disconnected. */
export async function applyMissedRevocations(
  store: Pick<Store, 'edges' | 'devices'>,
  broker: FoglineBroker,
  onRevoked: (kind: RevokedKind, id: string) => void,
): Promise<number> {
  const [edges, devices] = await Promise.all([store.edges.listRevoked(), store.devices.listRevoked()]);
  let disconnected = 0;
  for (const [kind, ids] of [
    ['edge', edges],
    ['device', devices],
  ] as const) {
    for (const id of ids) {
      onRevoked(kind, id);
      if (disconnectLocal(broker, id, kind)) disconnected++;
    }
  }
  return disconnected;
}
