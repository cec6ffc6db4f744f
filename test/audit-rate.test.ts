/**
 * The audit rate per edge, changed at run time by an operator through the cloud (issue 12 item 2;
 * docs/field-accuracy.md "The audit rate"): a real CloudServer (PGlite), an edge agent started with
 * its own rate (`--audit-rate 0.02`) and connected to the cloud broker, one SDK device. The operator's
 * rate reaches the device without a reconnect, the device audits at it, the views say where it comes
 * from, and clearing it goes back to the edge's own.
 */
import { eventually, type FabricCloud, startFabricCloud } from '@fogline/cloud/testing';
import type { Device } from '@fogline/device-sdk';
import type { EdgeAgent } from '@fogline/edge-agent';
import { testDigits } from '@fogline/edge-agent/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFogline as fogline } from '../cli/src/testing/run-fogline.ts';
import { type AuditSystem, startAuditSystem } from './support/audit-system.ts';

const EDGE = 'rate-edge';
const { images } = testDigits(200);
let system: AuditSystem;
let cloud: FabricCloud;
let agent: EdgeAgent;
let device: Device;
const states: string[] = [];

beforeAll(async () => {
  system = await startAuditSystem({
    edgeId: EDGE,
    auditSeed: 11,
    edgeAuditRate: 0.02,
    cloudBroker: true,
    onDeviceState: (s) => states.push(s),
  });
  ({ cloud, agent, device } = system);
  await eventually(() => agent.cloudLinkConnected, 10_000);
}, 60_000);

afterAll(async () => {
  await system?.stop();
});

const admin = (method: string, path: string, body?: unknown) =>
  fetch(`${cloud.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${cloud.ready.adminToken.token}`,
      'content-type': 'application/json',
    },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });

describe("the operator's audit rate, through the cloud", () => {
  it('reaches the device within seconds without a reconnect; it audits at that rate; clearing goes back to the edge flag', async () => {
    expect(agent.auditRate()).toEqual({ rate: 0.02, source: 'edge' });
    const set = await cloud.admin.setAuditRate(EDGE, { rate: 0.5, reason: 'checking the new model' });
    expect(set.audit_rate.operator).toBe(0.5);
    await eventually(() => device.policy.auditRate === 0.5, 10_000);
    expect(agent.auditRate()).toEqual({ rate: 0.5, source: 'operator' });

    const before = device.stats().audits.sent;
    for (const image of images) await device.infer(image, { deadlineMs: 3000 });
    const sent = device.stats().audits.sent - before;
    // Binomial(200, 0.5): mean 100, sd 7.1. At 2 % it would be 4 (sd 2).
    expect(sent).toBeGreaterThan(70);
    expect(sent).toBeLessThan(130);
    const atRate = async () => (await system.records()).filter((r) => r.rate === 0.5).length;
    await eventually(async () => (await atRate()) === sent, 20_000);

    // Shown where the operator looks: the policy view and GET /api/field, from the edge's telemetry.
    await eventually(
      async () => (await cloud.admin.policy(EDGE)).audit_rate.in_effect?.source === 'operator',
      10_000,
    );
    const field = await cloud.admin.field();
    expect(field.edges.find((e) => e.edge === EDGE)?.audit_rate).toEqual({
      in_effect: { rate: 0.5, source: 'operator' },
      operator: 0.5,
    });
    const [change] = await cloud.admin.policyChanges(EDGE, 1);
    expect(change).toMatchObject({
      source: 'operator',
      action: 'audit-rate',
      why: 'checking the new model',
      figures: { from: null, to: 0.5 },
    });

    const cleared = await cloud.admin.setAuditRate(EDGE, null);
    expect(cleared.audit_rate.operator).toBeNull();
    await eventually(() => device.policy.auditRate === 0.02, 10_000);
    expect(agent.auditRate()).toEqual({ rate: 0.02, source: 'edge' });
    expect(states).toEqual(['online']);
  }, 90_000);

  it('refuses a bad rate with 400 and an unknown edge with 404, changing nothing', async () => {
    for (const body of [{ rate: 1.5 }, { rate: -0.1 }, { rate: '0.5' }, {}, { rate: 0.5, reason: 7 }]) {
      const res = await admin('PUT', `/api/edges/${EDGE}/policy/audit-rate`, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
    expect((await admin('PUT', '/api/edges/no-such-edge/policy/audit-rate', { rate: 0.5 })).status).toBe(404);
    expect((await admin('DELETE', '/api/edges/no-such-edge/policy/audit-rate')).status).toBe(404);
    expect((await cloud.admin.policy(EDGE)).audit_rate.operator).toBeNull();
    expect(device.policy.auditRate).toBe(0.02);
  });
});

describe('fogline policy audit-rate', () => {
  it('sets the rate, shows it with its source, logs it, and goes back to the edge flag with default', async () => {
    const target = ['--url', cloud.url, '--admin-token', cloud.ready.adminToken.token];
    const bad = await fogline('policy', 'audit-rate', EDGE, '1.5', ...target);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/the audit rate must be a number in \[0, 1\] or 'default', got '1.5'/);
    const neither = await fogline('policy', 'audit-rate', EDGE, ...target);
    expect(neither.stderr).toMatch(/give either a rate/);
    const unknown = await fogline('policy', 'audit-rate', 'no-such-edge', '0.2', ...target);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/no-such-edge/);

    const set = await fogline('policy', 'audit-rate', EDGE, '0.25', '--reason', 'cli', ...target);
    expect(set.code, set.stderr).toBe(0);
    await eventually(() => device.policy.auditRate === 0.25, 10_000);
    await eventually(
      async () => (await cloud.admin.policy(EDGE)).audit_rate.in_effect?.rate === 0.25,
      10_000,
    );
    const show = await fogline('policy', 'show', EDGE, ...target);
    expect(show.stdout).toMatch(/audit rate: 0\.25 \(operator\); operator's: 0\.25/);
    const history = await fogline('policy', 'history', EDGE, ...target);
    expect(history.stdout).toMatch(/operator\s+audit-rate\s+audit rate edge's own\s+audit rate 0\.25\s+cli/);

    expect((await fogline('policy', 'audit-rate', EDGE, 'default', ...target)).code).toBe(0);
    await eventually(() => device.policy.auditRate === 0.02, 10_000);
    expect(states).toEqual(['online']);
  }, 120_000);
});

describe("the operator's audit rate across a cloud restart", () => {
  it('is kept by the control plane and sent again on the desired state', async () => {
    const first = await startFabricCloud({ models: ['digits-tiny'] });
    let again: FabricCloud | undefined;
    try {
      const { token } = await first.admin.createEdge('restart-edge');
      await first.admin.setAuditRate('restart-edge', { rate: 0.3 });
      const desired = async (c: FabricCloud) => {
        const res = await fetch(`${c.url}/v2/fogline/edges/restart-edge/desired`, {
          headers: { authorization: `Bearer restart-edge:${token}` },
        });
        return (await res.json()) as { audit_rate?: number };
      };
      expect((await desired(first)).audit_rate).toBe(0.3);
      await first.stop(true);
      again = await startFabricCloud({ models: ['digits-tiny'], dataDir: first.dataDir });
      expect((await again.admin.policy('restart-edge')).audit_rate.operator).toBe(0.3);
      expect((await desired(again)).audit_rate).toBe(0.3);
      await again.admin.setAuditRate('restart-edge', null);
      expect((await desired(again)).audit_rate).toBeUndefined();
    } finally {
      await (again ?? first).stop();
    }
  }, 60_000);
});
