/** The shapes the dashboard reads from the cloud (cloud/src/identities, cloud/src/web/live-feed.ts). */
export interface EdgeView {
  id: string;
  online: boolean;
  revokedAt: string | null;
  lastSeenAt: string | null;
  desiredModels: Record<string, number> | null;
  telemetry: {
    model?: string;
    breaker?: string;
    devices?: number;
    drift?: { model: string; alarm: boolean; psi: number | null };
  } | null;
  reported: {
    devices?: number;
    models?: Record<string, number>;
    pendingModels?: Record<string, number>;
    lastError?: string;
  } | null;
}

export interface DeviceView {
  id: string;
  edge: string | null;
  createdAt: string;
  revokedAt: string | null;
}

export interface ModelIndexEntry {
  name: string;
  version?: string;
  state: string;
  reason?: string;
}

export interface LiveEdge {
  id: string;
  online: boolean;
  breaker: string | null;
  counts: Record<string, number>;
  latencyMs: Record<string, { p50: number | null; p99: number | null; mean: number | null }>;
  drift: { model: string; alarm: boolean; psi: number | null } | null;
}

export interface LiveSnapshot {
  at: number;
  edges: LiveEdge[];
  cloud: {
    direct: { received: number; answered: number; errors: number };
    rateLimited: number;
    breakerOpens: number;
  };
}
