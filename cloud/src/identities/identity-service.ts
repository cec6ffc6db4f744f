/**
 * Edge and device identities as the admin API manages them (docs/design.md "Persistence and control
 * plane"): each change goes to the store first, then takes effect everywhere it must:
 *
 *   edge created     → its (empty) desired state is published, so the agent finds one on connect;
 *   edge revoked     → credential caches and HTTP bucket dropped (its next request is refused),
 *                      disconnected from the cloud broker (its will not sent), its retained status
 *                      and desired state (retained message, shared Redis keys) cleared;
 *   device created   → its edge's desired state is republished (the edge lets it in); a device
 *                      with no edge needs nothing published: the cloud broker checks it on CONNECT;
 *   device revoked   → republished (the edge disconnects it and refuses it from then on); a device
 *                      with no edge is forgotten by the credential cache and disconnected from the
 *                      cloud broker at once.
 *
 * Tokens are returned once, by `createEdge` / `createDevice`; the store keeps only scrypt hashes.
 */

import { CLOUD_EDGE_ID, type Identity } from '@fogline/shared';
import type { EdgePresence, EdgePresenceView } from '../fabric/edge-presence.ts';
import type { DeviceRecord, EdgeRecord, Store } from '../store/index.ts';
import type { DeviceCredentials } from './device-credentials.ts';
import type { EdgeCredentials } from './edge-credentials.ts';

export interface EdgeView {
  id: string;
  createdAt: string;
  revokedAt: string | null;
  /** The latest of the stored last contact and the contact seen by this process. */
  lastSeenAt: string | null;
  online: boolean;
  /** Version of the device list the edge reported applying, if it did. */
  deviceListVersion: number | null;
  /** Model versions the cloud last asked the edge to serve (its desired state); null before any. */
  desiredModels: Record<string, number> | null;
  telemetry: EdgePresenceView['telemetry'];
  reported: EdgePresenceView['reported'];
}

export interface DeviceView {
  id: string;
  /** The device's edge; null for a device with no edge, served by the cloud broker. */
  edge: string | null;
  /** A second edge whose device list carries it too (docs/scale-out.md "Failover"), or null. */
  standbyEdge: string | null;
  createdAt: string;
  revokedAt: string | null;
}

export interface IdentityServiceDeps {
  store: Pick<Store, 'edges' | 'devices'>;
  edgeCredentials: EdgeCredentials;
  /** Verified tokens of edgeless devices (the cloud broker's CONNECT). */
  deviceCredentials: DeviceCredentials;
  presence: EdgePresence;
  /** Publishes an edge's desired state; resolves when published (never rejects). */
  publishDesired: (edgeId: string) => Promise<unknown>;
  /** Clears what is kept of a revoked edge's desired state (its retained message, the shared keys). */
  forgetDesired: (edgeId: string) => Promise<unknown>;
  /** Clears a revoked edge's retained status on the cloud broker (every replica's, with a cluster). */
  forgetStatus: (edgeId: string) => Promise<unknown>;
  /** Disconnects a client from the cloud broker, if it is connected as that kind of identity. */
  disconnect: (clientId: string, kind: Identity['kind']) => void;
  /** Tells the HTTP guard an edge was revoked. */
  revokedEdge: (edgeId: string) => void;
  /** The model versions last published to an edge as desired (DesiredStatePublisher). */
  desiredModels?: (edgeId: string) => Record<string, number> | undefined;
}

export class IdentityService {
  constructor(private readonly deps: IdentityServiceDeps) {}

  async createEdge(id: string): Promise<EdgeView & { token: string }> {
    const { record, token } = await this.deps.store.edges.create(id);
    // A re-enrolled id may still have cached answers for its old token.
    this.deps.edgeCredentials.forget(record.id);
    await this.deps.publishDesired(record.id);
    return { ...this.edgeView(record), token };
  }

  async listEdges(): Promise<EdgeView[]> {
    return (await this.deps.store.edges.list()).map((r) => this.edgeView(r));
  }

  async getEdge(id: string): Promise<EdgeView> {
    return this.edgeView(await this.deps.store.edges.get(id));
  }

  async revokeEdge(id: string): Promise<EdgeView> {
    const record = await this.deps.store.edges.revoke(id);
    this.deps.edgeCredentials.forget(record.id);
    this.deps.revokedEdge(record.id);
    this.deps.disconnect(record.id, 'edge');
    this.deps.presence.forget(record.id);
    await this.deps.forgetStatus(record.id);
    await this.deps.forgetDesired(record.id);
    return this.edgeView(record);
  }

  /**
   * Enrols a device under `edgeId`, or with no edge (null): the cloud broker then serves it. With
   * `standbyEdgeId`, that edge's device list carries it too (a site's second edge).
   */
  async createDevice(
    id: string,
    edgeId: string | null,
    standbyEdgeId: string | null = null,
  ): Promise<DeviceView & { token: string }> {
    const { record, token } = await this.deps.store.devices.create(id, edgeId, standbyEdgeId);
    // A re-enrolled id may still have cached answers for its old token.
    this.deps.deviceCredentials.forget(record.id);
    for (const edge of edgesOf(record)) await this.deps.publishDesired(edge);
    return { ...deviceView(record), token };
  }

  /**
   * Every device (revoked ones included), or those of one edge; `cloud` (CLOUD_EDGE_ID) names the
   * devices with no edge.
   */
  async listDevices(edgeId?: string): Promise<DeviceView[]> {
    const wanted = edgeId === CLOUD_EDGE_ID ? null : edgeId;
    if (typeof wanted === 'string') await this.deps.store.edges.get(wanted); // NOT_FOUND for an unknown edge
    const all = await this.deps.store.devices.list();
    return all
      .filter(
        (d) => wanted === undefined || d.edgeId === wanted || (wanted !== null && d.standbyEdgeId === wanted),
      )
      .map(deviceView);
  }

  async revokeDevice(id: string): Promise<DeviceView> {
    const record = await this.deps.store.devices.revoke(id);
    this.deps.deviceCredentials.forget(record.id);
    if (record.edgeId === null) this.deps.disconnect(record.id, 'device');
    for (const edge of edgesOf(record)) await this.deps.publishDesired(edge);
    return deviceView(record);
  }

  private edgeView(record: EdgeRecord): EdgeView {
    const presence = this.deps.presence.view(record.id);
    const revoked = record.revokedAt !== null;
    const seen = [record.lastSeenAt, presence.lastSeenAt].filter((d): d is Date => d !== null);
    const lastSeen = seen.length > 0 ? new Date(Math.max(...seen.map((d) => d.getTime()))) : null;
    return {
      id: record.id,
      createdAt: record.createdAt.toISOString(),
      revokedAt: revoked ? record.revokedAt!.toISOString() : null,
      lastSeenAt: lastSeen ? lastSeen.toISOString() : null,
      online: !revoked && presence.online,
      deviceListVersion: presence.reported?.deviceListVersion ?? null,
      desiredModels: revoked ? null : (this.deps.desiredModels?.(record.id) ?? null),
      telemetry: revoked ? null : presence.telemetry,
      reported: revoked ? null : presence.reported,
    };
  }
}

/** The edges whose device lists carry the device: its edge, and its standby edge. */
function edgesOf(record: DeviceRecord): string[] {
  return [record.edgeId, record.standbyEdgeId].filter((e): e is string => e !== null);
}

function deviceView(record: DeviceRecord): DeviceView {
  return {
    id: record.id,
    edge: record.edgeId,
    standbyEdge: record.standbyEdgeId,
    createdAt: record.createdAt.toISOString(),
    revokedAt: record.revokedAt ? record.revokedAt.toISOString() : null,
  };
}
