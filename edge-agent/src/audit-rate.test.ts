import type { PolicyMessage, ResolvedPolicy } from '@fogline/shared';
import { describe, expect, it } from 'vitest';
import { DeviceAuditRate, type DeviceAuditRateOptions } from './audit-rate.ts';
import { RoutingControl } from './routing-control.ts';

const MODEL = 'digits-tiny:1';
const POLICY: ResolvedPolicy = { score: 'margin', threshold: 0.4 };

/** A DeviceAuditRate publishing through a real RoutingControl (no broker: the publish always lands). */
function setup(over: Partial<DeviceAuditRateOptions> = {}) {
  const lines: string[] = [];
  const logger = { info: (l: string) => lines.push(l), warn: (l: string) => lines.push(`warn: ${l}`) };
  const control = new RoutingControl({
    edgeId: 'e',
    initial: POLICY,
    logger: { info: () => {}, warn: () => {} },
  });
  const sent: PolicyMessage[] = [];
  let alarm = false;
  const audit = new DeviceAuditRate({
    own: undefined,
    model: MODEL,
    published: () => control.devices,
    publish: async (policy, options) => {
      const { message } = control.prepareDevicePolicy(policy, options);
      control.commitDevicePolicy(message);
      sent.push(message);
      return message;
    },
    alarm: () => alarm,
    logger,
    ...over,
  });
  return { audit, control, sent, lines, setAlarm: (on: boolean) => (alarm = on) };
}

describe('the devices audit rate on the edge', () => {
  it("publishes the edge's own rate at start only when one is set", async () => {
    const none = setup();
    await none.audit.start();
    expect(none.sent).toHaveLength(0);
    expect(none.audit.inEffect()).toEqual({ rate: 0.02, source: 'edge' });
    const own = setup({ own: 0.1 });
    await own.audit.start();
    expect(own.sent.map((m) => m.audit_rate)).toEqual([0.1]);
    expect(own.audit.inEffect()).toEqual({ rate: 0.1, source: 'edge' });
  });

  it("sends the operator's rate at once with the routing the devices have, and the edge's own once cleared", async () => {
    const { audit, control, sent } = setup({ own: 0.1 });
    const first = control.prepareDevicePolicy(POLICY, { model: MODEL, auditRate: 0.1 }).message;
    control.commitDevicePolicy(first);
    await audit.receive(0.5);
    expect(sent.at(-1)).toMatchObject({ policy: POLICY, audit_rate: 0.5, model: MODEL });
    expect(audit.inEffect()).toEqual({ rate: 0.5, source: 'operator' });
    await audit.receive(0.5); // the same desired rate again (every desired state carries it): no publish
    expect(sent).toHaveLength(1);
    await audit.receive(undefined);
    expect(sent.at(-1)).toMatchObject({ policy: POLICY, audit_rate: 0.1 });
    expect(audit.inEffect()).toEqual({ rate: 0.1, source: 'edge' });
  });

  it('refuses a bad rate from the cloud, keeping the one in effect', async () => {
    const { audit, sent, lines } = setup();
    await audit.receive(0.3);
    for (const bad of [1.5, -1, '0.5', null]) await audit.receive(bad);
    expect(sent.map((m) => m.audit_rate)).toEqual([0.3]);
    expect(audit.inEffect()).toEqual({ rate: 0.3, source: 'operator' });
    expect(lines.filter((l) => l.startsWith('warn: audit rate: refused'))).toHaveLength(4);
  });

  it("during a drift alarm keeps the alarm's rate and only remembers the operator's as the calm one", async () => {
    const { audit, sent, setAlarm } = setup({ own: 0.05 });
    setAlarm(true);
    await audit.receive(0.4);
    expect(sent).toHaveLength(0);
    expect(audit.calm()).toBe(0.4);
    expect(audit.inEffect().source).toBe('drift-alarm');
    setAlarm(false);
    await audit.receive(undefined);
    expect(audit.calm()).toBe(0.05);
    expect(sent.map((m) => m.audit_rate)).toEqual([0.05]);
  });

  it('logs a publish that fails (the local broker not up) and never rejects', async () => {
    const { audit, lines } = setup({
      publish: () => {
        throw new Error('the local broker is not up yet');
      },
    });
    await audit.receive(0.5);
    expect(lines.at(-1)).toBe('warn: audit rate: could not publish 0.5: the local broker is not up yet');
    expect(audit.inEffect()).toEqual({ rate: 0.02, source: 'edge' });
  });

  it("says so when the devices' model is unknown, publishing nothing", async () => {
    const { audit, sent, lines } = setup({ model: undefined });
    await audit.receive(0.5);
    expect(sent).toHaveLength(0);
    expect(lines.some((l) => /their model is not known to this edge/.test(l))).toBe(true);
    expect(audit.inEffect()).toEqual({ rate: 0.02, source: 'edge' });
  });
});
