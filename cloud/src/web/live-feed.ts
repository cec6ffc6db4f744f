/**
 * The dashboard's live stream (docs/dashboard.md "Live"), `GET /api/live` behind the admin check
 * (the session cookie: EventSource sends no headers): one `snapshot` event a second, built from what
 * the cloud already knows — each edge's last telemetry (tier counts, latency quantiles, breaker,
 * drift), the devices it answers itself, refusals, each edge's field accuracy per tier (F7, its audit
 * window) and the recent policy changes. The page turns successive totals into rates.
 */
import type { AuditRateInEffect } from '@fogline/shared';
import type { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { FieldAccuracy } from '../controller/field-accuracy.ts';
import { type FieldView, fieldView } from '../controller/policy-admin.ts';
import type { DirectDeviceStats } from '../fabric/direct-device-server.ts';
import type { EdgeView } from '../identities/identity-service.ts';
import type { PolicyChange, StagePolicies } from '../store/index.ts';

/** How far back the snapshot's policy changes go, and how many per edge at most. */
export const POLICY_CHANGES_MS = 10 * 60_000;
const POLICY_CHANGES_PER_EDGE = 20;

export interface LivePolicyChange {
  edge: string;
  /** Wall clock, ms. */
  at: number;
  source: string;
  action: string;
  from: StagePolicies | null;
  to: StagePolicies | null;
  why: string;
}

export interface LiveEdge {
  id: string;
  online: boolean;
  breaker: string | null;
  /** Totals since the edge started (docs/edge-agent.md "Telemetry"). */
  counts: Record<string, number>;
  latencyMs: Record<string, { p50: number | null; p99: number | null; mean: number | null }>;
  drift: { model: string; alarm: boolean; psi: number | null } | null;
  /** The rate the edge's devices audit at and why (edge, operator, drift-alarm); null before the edge says. */
  audit: AuditRateInEffect | null;
  /** Field accuracy per tier (device, edge, cloud); null where the cloud keeps no audit window. */
  field: FieldView | null;
}

export interface LiveSnapshot {
  /** Wall clock, ms. */
  at: number;
  edges: LiveEdge[];
  cloud: {
    /** Devices with no edge (the playground's among them), answered by the cloud broker. */
    direct: Pick<DirectDeviceStats, 'received' | 'answered' | 'errors'>;
    /** Requests refused by a rate limit since the cloud started: API keys, edges, playground. */
    rateLimited: number;
    /** Times an edge's breaker was seen turning open since the cloud started. */
    breakerOpens: number;
  };
  /** Policy changes of the last 10 minutes, every edge's, oldest first. */
  policyChanges: LivePolicyChange[];
}

export interface LiveSources {
  edges(): Promise<EdgeView[]>;
  direct(): DirectDeviceStats;
  rateLimited(): Promise<number>;
  /** The edge's field accuracy (controller-service.ts `field`). */
  field?(edgeId: string): FieldAccuracy;
  /** The edge's policy changes, newest first (EdgePolicyRepository `changes`). */
  policyChanges?(edgeId: string, limit: number): Promise<PolicyChange[]>;
}

export class LiveFeed {
  private readonly breakers = new Map<string, string>();
  private breakerOpens = 0;
  private closed = false;
  private readonly closing: Promise<void>;
  private endStreams = () => {};

  constructor(
    private readonly sources: LiveSources,
    readonly intervalMs = 1000,
  ) {
    this.closing = new Promise((resolve) => {
      this.endStreams = resolve;
    });
  }

  /** Ends every stream (the server is stopping: an open dashboard must not hold its stop). */
  close(): void {
    this.closed = true;
    this.endStreams();
  }

  async snapshot(): Promise<LiveSnapshot> {
    const edges = (await this.sources.edges()).filter((e) => e.revokedAt === null);
    for (const e of edges) {
      const breaker = e.telemetry?.breaker;
      if (breaker === undefined) continue;
      const before = this.breakers.get(e.id);
      if (breaker === 'open' && before !== undefined && before !== 'open') this.breakerOpens++;
      this.breakers.set(e.id, breaker);
    }
    const { received, answered, errors } = this.sources.direct();
    const at = Date.now();
    return {
      at,
      edges: edges.map((e) => ({ ...liveEdge(e), field: this.field(e.id) })),
      cloud: {
        direct: { received, answered, errors },
        rateLimited: await this.sources.rateLimited(),
        breakerOpens: this.breakerOpens,
      },
      policyChanges: await this.policyChanges(
        edges.map((e) => e.id),
        at - POLICY_CHANGES_MS,
      ),
    };
  }

  private field(edgeId: string): LiveEdge['field'] {
    return this.sources.field ? fieldView(this.sources.field(edgeId)) : null;
  }

  private async policyChanges(edgeIds: string[], since: number): Promise<LivePolicyChange[]> {
    const read = this.sources.policyChanges;
    if (!read) return [];
    const lists = await Promise.all(edgeIds.map((id) => read(id, POLICY_CHANGES_PER_EDGE)));
    return lists
      .flat()
      .filter((c) => c.at.getTime() >= since)
      .map((c) => ({
        edge: c.edgeId,
        at: c.at.getTime(),
        source: c.source,
        action: c.action,
        from: c.from,
        to: c.to,
        why: c.why,
      }))
      .sort((a, b) => a.at - b.at);
  }

  register(app: Hono): void {
    app.get('/api/live', (c) =>
      streamSSE(c, async (stream) => {
        let open = true;
        stream.onAbort(() => {
          open = false;
        });
        while (open && !this.closed) {
          await stream.writeSSE({ event: 'snapshot', data: JSON.stringify(await this.snapshot()) });
          await Promise.race([stream.sleep(this.intervalMs), this.closing]);
        }
      }),
    );
  }
}

function liveEdge(e: EdgeView): Omit<LiveEdge, 'field'> {
  const t = e.telemetry;
  const latencyMs: LiveEdge['latencyMs'] = {};
  for (const tier of ['edge', 'cloud', 'total']) {
    const mean = t?.meanLatencyMs?.[tier];
    const q = t?.quantileMs?.[tier];
    if (mean === undefined && q === undefined) continue;
    latencyMs[tier] = { p50: q?.p50 ?? null, p99: q?.p99 ?? null, mean: mean ?? null };
  }
  return {
    id: e.id,
    online: e.online,
    breaker: t?.breaker ?? null,
    counts: { ...t?.counts },
    latencyMs,
    drift: t?.drift ? { model: t.drift.model, alarm: t.drift.alarm, psi: t.drift.psi } : null,
    audit: t?.routing?.audit ?? null,
  };
}
