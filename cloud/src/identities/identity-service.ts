/**
 * Edge and device identities as the admin API manages them (DESIGN.md "Persistence and control
 * plane"): each change goes to the store first, then takes effect everywhere it must:
 *
 *   edge created     → its (empty) desired state is published, so the agent finds one on connect;
 *   edge revoked     → credential caches and HTTP bucket dropped (its next request is refused),
 *                      disconnected from the cloud broker, its device list emptied;
 *   device created   → its edge's desired state is republished (the edge lets it in);
 *   device revoked   → republished (the edge disconnects it and refuses it from then on).
 *
 * Tokens are returned once, by `createEdge` / `createDevice`; the store keeps only scrypt hashes.
 */

import type { EdgePresence, EdgePresenceView } from '../fabric/edge-presence.ts';
import type { DeviceRecord, EdgeRecord, Store } from '../store/index.ts';
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
  telemetry: EdgePresenceView['telemetry'];
  reported: EdgePresenceView['reported'];
}

export interface DeviceView {
  id: string;
  edge: string;
  createdAt: string;
  revokedAt: string | null;
}

export interface IdentityServiceDeps {
  store: Pick<Store, 'edges' | 'devices'>;
  edgeCredentials: EdgeCredentials;
  presence: EdgePresence;
  /** Publishes an edge's desired state; resolves when published (never rejects). */
  publishDesired: (edgeId: string) => Promise<unknown>;
  /** Disconnects a client from the cloud broker. */
  disconnect: (clientId: string) => void;
  /** Tells the HTTP guard an edge was revoked. */
  revokedEdge: (edgeId: string) => void;
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
    this.deps.disconnect(record.id);
    this.deps.presence.forget(record.id);
    await this.deps.publishDesired(record.id);
    return this.edgeView(record);
  }

  async createDevice(id: string, edgeId: string): Promise<DeviceView & { token: string }> {
    const { record, token } = await this.deps.store.devices.create(id, edgeId);
    await this.deps.publishDesired(record.edgeId);
    return { ...deviceView(record), token };
  }

  /** Every device (revoked ones included), or those of one edge. */
  async listDevices(edgeId?: string): Promise<DeviceView[]> {
    if (edgeId !== undefined) await this.deps.store.edges.get(edgeId); // NOT_FOUND for an unknown edge
    const all = await this.deps.store.devices.list();
    return all.filter((d) => edgeId === undefined || d.edgeId === edgeId).map(deviceView);
  }

  async revokeDevice(id: string): Promise<DeviceView> {
    const record = await this.deps.store.devices.revoke(id);
    await this.deps.publishDesired(record.edgeId);
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
      telemetry: revoked ? null : presence.telemetry,
      reported: revoked ? null : presence.reported,
    };
  }
}

function deviceView(record: DeviceRecord): DeviceView {
  return {
    id: record.id,
    edge: record.edgeId,
    createdAt: record.createdAt.toISOString(),
    revokedAt: record.revokedAt ? record.revokedAt.toISOString() : null,
  };
}
