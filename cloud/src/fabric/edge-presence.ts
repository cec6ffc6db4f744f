/**
 * What the cloud knows about each edge right now (docs/design.md "Where the brokers are": "the cloud
 * knows which edges are online"): its last status (`online`, or `offline` from its will or its
 * graceful stop), its last telemetry and reported state, and when it was last heard from. Kept in
 * memory per cloud process; `lastSeenAt` is also written to the store, at most once per
 * `seenWriteIntervalMs` per edge, so a telemetry stream does not become a stream of writes.
 *
 * Replicas on one Redis (docs/scale-out.md) each see every edge message through the shared broker:
 * each keeps this view, but only the replica the message came in on (`local`) writes to the store and
 * acts on a reported state, so that happens once per message.
 */
import { type DeploymentReport, fromUnknown, readDeploymentReport } from '@fogline/shared';
import { summarizeTelemetry, type TelemetrySummary } from './telemetry-summary.ts';

export interface ReportedSummary {
  deviceListVersion?: number;
  devices?: number;
  models?: Record<string, number>;
  pendingModels?: Record<string, number>;
  lastError?: string;
  /** How far the edge got with its deployment (model-deployment.ts), when it reports one. */
  deployment?: DeploymentReport;
}

export interface EdgePresenceView {
  /** Connected to the cloud broker and not announced `offline`. */
  online: boolean;
  /** Last status message and when it arrived. */
  status: 'online' | 'offline' | null;
  statusAt: Date | null;
  /** Last contact in this process: MQTT message or authenticated HTTP request. */
  lastSeenAt: Date | null;
  telemetry: (TelemetrySummary & { receivedAt: string }) | null;
  reported: ReportedSummary | null;
}

export interface EdgePresenceOptions {
  /** Is the edge's MQTT session up right now (on this replica or, in a cluster, on any)? */
  isConnected: (edgeId: string) => boolean;
  /** Persists the last contact (store.edges.markSeen). */
  markSeen: (edgeId: string, at: Date) => Promise<unknown>;
  /** Least time between two markSeen writes for one edge. Default 10 s. */
  seenWriteIntervalMs?: number;
  now?: () => Date;
  onError?: (err: Error) => void;
  /** Called after each valid reported state that came in on this replica. */
  onReported?: (edgeId: string, reported: ReportedSummary) => void;
}

interface EdgeState {
  status: 'online' | 'offline' | null;
  statusAt: Date | null;
  lastSeenAt: Date | null;
  lastWriteMs: number;
  telemetry: EdgePresenceView['telemetry'];
  reported: ReportedSummary | null;
}

export class EdgePresence {
  private readonly edges = new Map<string, EdgeState>();
  private readonly pending = new Set<Promise<unknown>>();
  private readonly intervalMs: number;
  private readonly now: () => Date;

  constructor(private readonly options: EdgePresenceOptions) {
    this.intervalMs = options.seenWriteIntervalMs ?? 10_000;
    this.now = options.now ?? (() => new Date());
  }

  /**
   * `fogline/v1/edge/{id}/status`: UTF-8 `online` or `offline`; an empty payload is the cloud clearing
   * a revoked edge's retained status (no contact: the status is forgotten); anything else only counts
   * as contact. `local`: the message came in on this replica (else: on another, through the cluster).
   */
  onStatus(edgeId: string, payload: Uint8Array, local = true): void {
    if (payload.byteLength === 0) {
      const cleared = this.edges.get(edgeId);
      if (cleared) {
        cleared.status = null;
        cleared.statusAt = null;
      }
      return;
    }
    const state = this.touch(edgeId, local);
    const text = Buffer.from(payload).toString('utf8');
    if (text === 'online' || text === 'offline') {
      state.status = text;
      state.statusAt = state.lastSeenAt;
    }
  }

  onTelemetry(edgeId: string, payload: Uint8Array, local = true): void {
    const state = this.touch(edgeId, local);
    const summary = summarizeTelemetry(payload);
    if (summary) state.telemetry = { ...summary, receivedAt: state.lastSeenAt!.toISOString() };
  }

  onReported(edgeId: string, payload: Uint8Array, local = true): void {
    let raw: unknown;
    try {
      raw = JSON.parse(Buffer.from(payload).toString('utf8'));
    } catch {
      this.touch(edgeId, local);
      return;
    }
    this.report(edgeId, raw, local);
  }

  /**
   * A reported state already parsed (MQTT above, or `POST .../reported`): kept when it is an object;
   * a malformed `deployment` field is left out. Returns what was kept, or null.
   */
  report(edgeId: string, raw: unknown, local = true): ReportedSummary | null {
    const state = this.touch(edgeId, local);
    const reported = readReported(raw);
    if (!reported) return null;
    state.reported = reported;
    if (local) this.options.onReported?.(edgeId, reported);
    return reported;
  }

  /** Records contact from `edgeId` (and writes it to the store when the last write is old enough). */
  seen(edgeId: string): void {
    this.touch(edgeId);
  }

  private touch(edgeId: string, local = true): EdgeState {
    let state = this.edges.get(edgeId);
    if (!state) {
      state = {
        status: null,
        statusAt: null,
        lastSeenAt: null,
        lastWriteMs: -Infinity,
        telemetry: null,
        reported: null,
      };
      this.edges.set(edgeId, state);
    }
    const at = this.now();
    state.lastSeenAt = at;
    if (local && at.getTime() - state.lastWriteMs >= this.intervalMs) {
      state.lastWriteMs = at.getTime();
      const write = this.options
        .markSeen(edgeId, at)
        .catch((err: unknown) => this.options.onError?.(fromUnknown(err)))
        .finally(() => this.pending.delete(write));
      this.pending.add(write);
    }
    return state;
  }

  view(edgeId: string): EdgePresenceView {
    const state = this.edges.get(edgeId);
    const connected = this.options.isConnected(edgeId);
    return {
      online: connected && state?.status !== 'offline',
      status: state?.status ?? null,
      statusAt: state?.statusAt ?? null,
      lastSeenAt: state?.lastSeenAt ?? null,
      telemetry: state?.telemetry ?? null,
      reported: state?.reported ?? null,
    };
  }

  /** Drops what is known about a revoked edge. */
  forget(edgeId: string): void {
    this.edges.delete(edgeId);
  }

  /** Waits for the store writes under way (before the store closes). */
  async flush(): Promise<void> {
    await Promise.all([...this.pending]);
  }
}

function readReported(raw: unknown): ReportedSummary | null {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return null;
  const r = raw as Record<string, unknown>;
  const out: ReportedSummary = {};
  if (Number.isSafeInteger(r.deviceListVersion)) out.deviceListVersion = r.deviceListVersion as number;
  if (Number.isSafeInteger(r.devices)) out.devices = r.devices as number;
  const models = versions(r.models);
  if (models) out.models = models;
  const pending = versions(r.pendingModels);
  if (pending) out.pendingModels = pending;
  if (typeof r.lastError === 'string') out.lastError = r.lastError.slice(0, 500);
  if (r.deployment !== undefined) {
    const deployment = readDeploymentReport(r.deployment);
    if (deployment.ok) out.deployment = deployment.value;
  }
  return out;
}

function versions(value: unknown): Record<string, number> | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const entries = Object.entries(value).filter(
    ([name, v]) => name.length <= 64 && Number.isSafeInteger(v),
  ) as [string, number][];
  return Object.fromEntries(entries.slice(0, 100));
}
