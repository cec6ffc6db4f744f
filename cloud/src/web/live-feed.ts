/**
 * The dashboard's live stream (docs/dashboard.md "Live"), `GET /api/live` behind the admin check
 * (the session cookie: EventSource sends no headers): one `snapshot` event a second, built from what
 * the cloud already knows — each edge's last telemetry (tier counts, latency quantiles, breaker,
 * drift), the devices it answers itself, and refusals. The page turns successive totals into rates.
 * Field accuracy per tier (F7) is not part of it yet.
 */
import type { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { DirectDeviceStats } from '../fabric/direct-device-server.ts';
import type { EdgeView } from '../identities/identity-service.ts';

export interface LiveEdge {
  id: string;
  online: boolean;
  breaker: string | null;
  /** Totals since the edge started (docs/edge-agent.md "Telemetry"). */
  counts: Record<string, number>;
  latencyMs: Record<string, { p50: number | null; p99: number | null; mean: number | null }>;
  drift: { model: string; alarm: boolean; psi: number | null } | null;
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
}

export interface LiveSources {
  edges(): Promise<EdgeView[]>;
  direct(): DirectDeviceStats;
  rateLimited(): Promise<number>;
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
    return {
      at: Date.now(),
      edges: edges.map(liveEdge),
      cloud: {
        direct: { received, answered, errors },
        rateLimited: await this.sources.rateLimited(),
        breakerOpens: this.breakerOpens,
      },
    };
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

function liveEdge(e: EdgeView): LiveEdge {
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
  };
}
