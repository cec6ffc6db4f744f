import type { PolicyMessage, ResolvedPolicy } from '@fogline/shared';
import { describe, expect, it } from 'vitest';
import { CloudRouting, routingTelemetry } from './cloud-routing.ts';
import { RoutingControl } from './routing-control.ts';

const calibrated = { score: 'margin', threshold: 0.3 } as const;

function setup(deviceModel: string | null = 'digits-tiny:1') {
  const lines: string[] = [];
  const logger = { info: (m: string) => lines.push(m), warn: (m: string) => lines.push(`WARN ${m}`) };
  const control = new RoutingControl({
    edgeId: 'edge-a',
    initial: { score: 'margin', threshold: 0.4 },
    logger,
  });
  const published: PolicyMessage[] = [];
  /** The directive status as each onStatus call saw it (the edge publishes its telemetry then). */
  const told: (string | undefined)[] = [];
  const routing: CloudRouting = new CloudRouting({
    control,
    deviceModel: deviceModel ?? undefined,
    devicePolicy: calibrated,
    baseline: { disagreement: 0.003, edgeAgreement: 0.97, cloudAccuracy: 0.99 },
    publishDevices: async (policy: ResolvedPolicy, options) => {
      const { message } = control.prepareDevicePolicy(policy, options);
      control.commitDevicePolicy(message);
      published.push(message);
      return message;
    },
    logger,
    onStatus: () => told.push(`${routing.status()?.id} ${routing.status()?.applied}`),
  });
  return { control, routing, published, lines, told };
}

const directive = (id: string, device = 0.5, edge = 0.6, score = 'margin') => ({
  id,
  reason: 'drift alarm: escalating more',
  device: { score, threshold: device },
  edge: { score, threshold: edge },
});

describe('CloudRouting', () => {
  it('applies a directive to the edge and its devices once, and reports it', async () => {
    const { control, routing, published } = setup();
    await routing.receive(directive('c-1'));
    expect(control.edge).toEqual({ score: 'margin', threshold: 0.6 });
    expect(published.map((m) => [m.model, m.policy?.threshold])).toEqual([['digits-tiny:1', 0.5]]);
    expect(routing.status()).toMatchObject({ id: 'c-1', applied: true });
    await routing.receive(directive('c-1'));
    expect(published).toHaveLength(1);
    expect(routingTelemetry(control, routing)).toMatchObject({
      edge: { threshold: 0.6 },
      device: { threshold: 0.5 },
      pinned: false,
      directive: 'c-1',
      baseline: { disagreement: 0.003 },
    });
  });

  it("keeps the devices' audit rate when it changes their thresholds", async () => {
    const { control, routing, published } = setup();
    const { message } = control.prepareDevicePolicy(calibrated, { model: 'digits-tiny:1', auditRate: 0.2 });
    control.commitDevicePolicy(message);
    await routing.receive(directive('c-2'));
    expect(published.at(-1)?.audit_rate).toBe(0.2);
  });

  it.each([
    ['out of range', directive('c-3', 1.5), /threshold/],
    ['another score kind', directive('c-4', 0.5, 0.6, 'entropy'), /routes by margin/],
    ['malformed', { id: 'c-5', reason: 'x', device: 'high' }, /routing.device/],
    ['not an object', 'raise thresholds', /must be an object/],
  ])('refuses a %s directive and keeps the current policy', async (_what, raw, why) => {
    const { control, routing, published, lines } = setup();
    await routing.receive(raw);
    expect(control.edge).toEqual({ score: 'margin', threshold: 0.4 });
    expect(published).toHaveLength(0);
    expect(routing.status()?.applied).toBe(false);
    expect(routing.status()?.refused).toMatch(why);
    expect(lines.some((l) => l.startsWith('WARN routing: refused'))).toBe(true);
  });

  it('refuses while routing is pinned on the edge, and applies a later directive once unpinned', async () => {
    const { control, routing, published, told } = setup();
    control.pin(true);
    await routing.receive(directive('c-6'));
    expect(routing.status()).toMatchObject({ applied: false, refused: 'routing is pinned on this edge' });
    expect(control.edge.threshold).toBe(0.4);
    control.pin(false);
    await routing.receive(directive('c-7'));
    expect(control.edge.threshold).toBe(0.6);
    expect(published).toHaveLength(1);
    // Each outcome is told once it is the status (the edge's telemetry goes out at once).
    expect(told).toEqual(['c-6 false', 'c-7 true']);
  });

  it("refuses when the devices' model is unknown to the edge", async () => {
    const { control, routing } = setup(null);
    await routing.receive(directive('c-8'));
    expect(routing.status()?.refused).toMatch(/model is not known/);
    expect(control.edge.threshold).toBe(0.4);
  });
});
