/**
 * The controller service's test fixture (controller-service*.test.ts): a real PGlite store per test
 * file, edges whose telemetry (routing, baseline, drift) a test moves on, fixed audit records, and a
 * ControllerService on a ManualClock.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '@fogline/shared';
import { afterAll, beforeAll } from 'vitest';
import type { EdgePresenceView } from '../fabric/edge-presence.ts';
import type { RoutingSummary } from '../fabric/telemetry-summary.ts';
import { type NewAuditRecord, openStore, type Store } from '../store/index.ts';
import { ControllerService, type ControllerSettings } from './controller-service.ts';

let dir = '';
/** The test file's store (open between its beforeAll and afterAll, which importing this file registers). */
export let store: Store;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fogline-controller-'));
  store = await openStore({ dataDir: dir });
});
afterAll(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

export const policy = {
  device: { score: 'margin', threshold: 0.3 },
  edge: { score: 'margin', threshold: 0.4 },
} as const;
export const baseline = { disagreement: 0.003, edgeAgreement: 0.97, cloudAccuracy: 0.99 };

/** What an edge's telemetry says; mutable so a test can move the edge on. */
export interface EdgeTelemetry {
  routing: RoutingSummary;
  alarm: boolean;
  alarms: number;
  /** When the alarm went on, as the edge reports it (ms). */
  sinceMs?: number;
}

export function telemetryOf(t: EdgeTelemetry): EdgePresenceView {
  return {
    online: true,
    status: 'online',
    statusAt: null,
    lastSeenAt: null,
    reported: null,
    telemetry: {
      receivedAt: new Date().toISOString(),
      routing: t.routing,
      drift: {
        model: 'digits-tiny:1',
        alarm: t.alarm,
        psi: t.alarm ? 4 : 0.01,
        windows: 3,
        alarms: t.alarms,
        ...(t.sinceMs !== undefined && { since: new Date(t.sinceMs).toISOString() }),
      },
    },
  };
}

let edgeCounter = 0;
export async function edge(): Promise<{ id: string; t: EdgeTelemetry }> {
  const id = `edge-c${++edgeCounter}`;
  await store.edges.create(id);
  return { id, t: { routing: { ...policy, pinned: false, baseline }, alarm: false, alarms: 0 } };
}

/** A record whose device, edge and cloud answers are given (cloud = the reference). */
export function audit(
  edgeId: string,
  answers: [number, number, number],
  scores: [number, number],
  tier = 'device',
): NewAuditRecord {
  const answer = (label: number, score: number) => ({ model: 'm:1', outputs: [0, 1], score, label });
  return {
    source: 'audit',
    edgeId,
    deviceId: 'dev-1',
    requestId: `r-${Math.random().toString(36).slice(2)}`,
    answeredAt: new Date(),
    rate: 0.5,
    answerTier: tier as NewAuditRecord['answerTier'],
    device: answer(answers[0], scores[0]),
    edge: answer(answers[1], scores[1]),
    cloud: answer(answers[2], 0.99),
    input: null,
    inputExpiresAt: null,
  };
}

/** 40 records after an alarm: scores spread evenly over [0, 1], every tier agreeing with the reference. */
export const sinceAlarm = (edgeId: string) =>
  Array.from({ length: 40 }, (_, i) => audit(edgeId, [1, 1, 1], [(i + 0.5) / 40, (i + 0.5) / 40]));

export function service(
  edges: Map<string, EdgeTelemetry>,
  over: Partial<ControllerSettings> = {},
  holder = 'replica-a',
  clock = new ManualClock(1_000_000),
  rolloutHolds?: (edgeId: string) => Promise<boolean>,
) {
  const published: string[] = [];
  const lines: string[] = [];
  const s = new ControllerService({
    store,
    presence: (id) => {
      const t = edges.get(id);
      return t ? telemetryOf(t) : { ...telemetryOf(edges.values().next().value!), telemetry: null };
    },
    publish: async (id) => published.push(id),
    settings: {
      enabled: true,
      intervalMs: 300,
      cloudBudget: 0.25,
      window: { maxRecords: 1_000, maxAgeMs: 60_000 },
      knobs: { minRecords: 20 },
      ...over,
    },
    holder,
    clock,
    log: (line) => lines.push(line),
    ...(rolloutHolds && { rolloutHolds }),
  });
  return { s, published, lines, clock };
}
