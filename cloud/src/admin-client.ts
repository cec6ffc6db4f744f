import { join } from 'node:path';
import { codeForHttpStatus, FoglineError } from '@fogline/shared';
import { readAdminToken } from './auth/admin-token.ts';
import { CLOUD_STATE_FILE, type CloudState } from './cloud-server.ts';
import type { DeviceView, EdgeView } from './identities/identity-service.ts';
import { readStateFile } from './state-file.ts';

export type { DeviceView, EdgeView } from './identities/identity-service.ts';

export interface KeyView {
  name: string;
  keyPrefix: string;
  ratePerSec: number;
  burst: number;
  createdAt: string;
  revokedAt: string | null;
}

/** A routing stage as the API shows it. */
export interface StageView {
  score: string;
  threshold: number;
}

/** One tier's field accuracy over an edge's window; null where nothing is known yet. */
export interface TierFieldView {
  agreement: number | null;
  low: number | null;
  high: number | null;
  n: number;
  share: number | null;
}

export interface EdgeFieldView {
  edge: string;
  online: boolean;
  drift_alarm: boolean | null;
  field: {
    records: number;
    audit_rate: number | null;
    tiers: Record<'device' | 'edge' | 'cloud', TierFieldView>;
  };
  policy: { device: StageView | null; edge: StageView } | null;
  pinned: boolean;
  conservative: boolean;
  reference_weak: string | null;
}

export interface FleetFieldView {
  controller_leader: boolean;
  edges: EdgeFieldView[];
}

export interface PolicyView {
  edge: string;
  current: {
    device: StageView | null;
    edge: StageView;
    applied: string | null;
    pinned_on_edge: boolean;
  } | null;
  desired: { id: string; reason: string; device: StageView; edge: StageView } | null;
  pinned: boolean;
  conservative: boolean;
  reference_weak: string | null;
  last_change_at: string | null;
  last_decision: { action: string; why: string; figures: Record<string, unknown> | null; at: string } | null;
}

export interface PolicyChangeView {
  id: number;
  at: string;
  source: 'controller' | 'operator';
  action: string;
  from: { device: StageView; edge: StageView } | null;
  to: { device: StageView; edge: StageView } | null;
  why: string;
  figures: Record<string, unknown> | null;
}

export interface PinBody {
  device: StageView;
  edge: StageView;
  reason?: string;
}

export interface AdminTarget {
  url: string;
  adminToken: string;
}

/** Flags win; what is missing is read from `<dataDir>/cloud.json` and `<dataDir>/admin-token`. */
export async function resolveAdminTarget(opts: {
  url?: string;
  adminToken?: string;
  dataDir: string;
}): Promise<AdminTarget> {
  const url = opts.url ?? (await readCloudState(opts.dataDir)).url;
  const adminToken = opts.adminToken ?? (await readAdminToken(opts.dataDir));
  return { url: url.replace(/\/+$/, ''), adminToken };
}

export async function readCloudState(dataDir: string): Promise<CloudState> {
  const path = join(dataDir, CLOUD_STATE_FILE);
  const text = await readStateFile(path, 'no running cloud recorded: start "fogline cloud" or pass --url');
  try {
    const state = JSON.parse(text) as CloudState;
    if (typeof state.url !== 'string') throw new Error('url missing');
    return state;
  } catch (cause) {
    throw new FoglineError('INTERNAL', `${path} is not a valid cloud state file`, { cause });
  }
}

export class CloudAdminClient {
  constructor(private readonly target: AdminTarget) {}

  async listKeys(): Promise<KeyView[]> {
    return ((await this.call('GET', '/api/keys')) as { keys: KeyView[] }).keys;
  }

  async createKey(name: string, ratePerSec: number, burst: number): Promise<KeyView & { key: string }> {
    return (await this.call('POST', '/api/keys', { name, ratePerSec, burst })) as KeyView & { key: string };
  }

  async revokeKey(name: string): Promise<KeyView> {
    return (await this.call('DELETE', `/api/keys/${encodeURIComponent(name)}`)) as KeyView;
  }

  /** Enrols an edge; `token` is shown only here (its MQTT password and HTTP credential). */
  async createEdge(id: string): Promise<EdgeView & { token: string }> {
    return (await this.call('POST', '/api/edges', { id })) as EdgeView & { token: string };
  }

  async listEdges(): Promise<EdgeView[]> {
    return ((await this.call('GET', '/api/edges')) as { edges: EdgeView[] }).edges;
  }

  async getEdge(id: string): Promise<EdgeView> {
    return (await this.call('GET', `/api/edges/${encodeURIComponent(id)}`)) as EdgeView;
  }

  /** Revokes an edge: disconnected from the cloud broker, its token refused from the next request. */
  async revokeEdge(id: string): Promise<EdgeView> {
    return (await this.call('DELETE', `/api/edges/${encodeURIComponent(id)}`)) as EdgeView;
  }

  /**
   * Enrols a device under `edgeId`, or with no edge (null: it connects to the cloud broker, which
   * plays its edge); `token` is shown only here. Its edge learns it by device-list sync.
   */
  async createDevice(id: string, edgeId: string | null): Promise<DeviceView & { token: string }> {
    return (await this.call('POST', '/api/devices', { id, edge: edgeId })) as DeviceView & { token: string };
  }

  async listDevices(edgeId?: string): Promise<DeviceView[]> {
    const query = edgeId === undefined ? '' : `?edge=${encodeURIComponent(edgeId)}`;
    return ((await this.call('GET', `/api/devices${query}`)) as { devices: DeviceView[] }).devices;
  }

  /** Revokes a device; its edge disconnects it within seconds (the cloud broker at once, if edgeless). */
  async revokeDevice(id: string): Promise<DeviceView> {
    return (await this.call('DELETE', `/api/devices/${encodeURIComponent(id)}`)) as DeviceView;
  }

  /** One admin API call; non-2xx answers become FoglineErrors with the server's message. */
  /** Field accuracy and policy of every active edge (GET /api/field). */
  async field(): Promise<FleetFieldView> {
    return (await this.call('GET', '/api/field')) as FleetFieldView;
  }

  async policy(edgeId: string): Promise<PolicyView> {
    return (await this.call('GET', `/api/edges/${encodeURIComponent(edgeId)}/policy`)) as PolicyView;
  }

  async policyChanges(edgeId: string, limit?: number): Promise<PolicyChangeView[]> {
    const q = limit === undefined ? '' : `?limit=${limit}`;
    const path = `/api/edges/${encodeURIComponent(edgeId)}/policy/changes${q}`;
    return ((await this.call('GET', path)) as { changes: PolicyChangeView[] }).changes;
  }

  /** Sets `policy` as the edge's routing and pins it (the controller is off for the edge). */
  async pinPolicy(edgeId: string, policy: PinBody): Promise<PolicyView> {
    return (await this.call('PUT', `/api/edges/${encodeURIComponent(edgeId)}/policy`, policy)) as PolicyView;
  }

  async unpinPolicy(edgeId: string): Promise<PolicyView> {
    return (await this.call('DELETE', `/api/edges/${encodeURIComponent(edgeId)}/policy/pin`)) as PolicyView;
  }

  protected async call(method: string, path: string, body?: unknown): Promise<unknown> {
    const url = `${this.target.url}${path}`;
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: { authorization: `Bearer ${this.target.adminToken}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
    } catch (cause) {
      throw new FoglineError(
        'UNAVAILABLE',
        `cannot reach the cloud at ${this.target.url} (is "fogline cloud" running?)`,
        {
          cause,
        },
      );
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text.length > 0 ? JSON.parse(text) : {};
    } catch {
      json = { error: text.slice(0, 200) };
    }
    if (!res.ok) {
      const message = (json as { error?: string }).error ?? `HTTP ${res.status}`;
      throw new FoglineError(codeForHttpStatus(res.status), message);
    }
    return json;
  }
}
