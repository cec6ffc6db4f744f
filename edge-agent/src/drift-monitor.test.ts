/** The drift monitor on fixed histograms and a fake wall clock: windows, PSI, alarm with hysteresis. */
import { type DriftReference, type PolicyMessage, psi } from '@fogline/shared';
import { describe, expect, it } from 'vitest';
import { DriftMonitor, resolveDriftSettings } from './drift-monitor.ts';
import { createEdgeDrift, watchRouting } from './edge-drift.ts';
import { RoutingControl } from './routing-control.ts';

const reference: DriftReference = {
  score: 'margin',
  model: 'digits-tiny',
  version: 1,
  bins: [0, 0.5, 0.9, 1],
  reference: [0.2, 0.3, 0.5],
  records: 1500,
};
/** A histogram body as a device sends it. */
const body = (counts: number[], extra: Record<string, unknown> = {}) => ({
  model: 'digits-tiny:1',
  score: 'margin',
  bins: [0, 0.5, 0.9, 1],
  counts,
  count: counts.reduce((a, b) => a + b, 0),
  window_start_ms: 0,
  window_end_ms: 1,
  ...extra,
});
const IN = [20, 30, 50]; // the reference's own shares: PSI 0
const SHIFTED = [60, 30, 10]; // PSI ≈ 1.08

function monitorWith(options: Parameters<typeof resolveDriftSettings>[0] = {}) {
  const lines: string[] = [];
  const changes: boolean[] = [];
  let wallMs = 1_000_000;
  const monitor = new DriftMonitor({
    reference,
    settings: resolveDriftSettings({ windowRequests: 200, calmWindows: 2, ...options }),
    logger: { info: (m) => lines.push(m), warn: (m) => lines.push(m) },
    now: () => wallMs,
    onAlarm: (alarm) => changes.push(alarm),
  });
  const tick = (ms: number) => {
    wallMs += ms;
  };
  return { monitor, lines, changes, tick };
}

describe('drift monitor', () => {
  it('sums histograms of several devices into windows of at least windowRequests, PSI against the reference', () => {
    const { monitor } = monitorWith({ windowRequests: 201 });
    monitor.receive('dev-1', body(IN));
    monitor.receive('dev-2', body(SHIFTED));
    expect(monitor.status().windows).toEqual([]);
    expect(monitor.status().open).toEqual({ count: 200, devices: 2 });
    monitor.receive('dev-1', body([1, 0, 0]));
    const { windows, open, lastPsi } = monitor.status();
    expect(windows).toHaveLength(1);
    expect(windows[0]).toMatchObject({ count: 201, devices: 2 });
    expect(lastPsi).toBeCloseTo(psi(reference.reference, [81, 60, 60]), 12);
    expect(open).toEqual({ count: 0, devices: 0 });
  });

  it('raises the alarm past alarmPsi, clears it only after calmWindows calm windows in a row', () => {
    const { monitor, lines, changes, tick } = monitorWith();
    const window = (counts: number[]) => {
      tick(1000);
      monitor.receive('dev-1', body(counts.map((c) => c * 2)));
    };
    window(IN);
    expect(monitor.status().alarm).toBe(false);
    window(SHIFTED);
    const on = monitor.status();
    expect(on).toMatchObject({ alarm: true, alarms: 1, since: new Date(1_002_000) });
    expect(on.lastPsi).toBeGreaterThan(0.2);
    window(SHIFTED); // still drifted: no second event
    window(IN); // one calm window: still on
    expect(monitor.status().alarm).toBe(true);
    window(SHIFTED); // drifted again: the calm count restarts
    window(IN);
    expect(monitor.status().alarm).toBe(true);
    window(IN); // two calm in a row: off
    const off = monitor.status();
    expect(off).toMatchObject({ alarm: false, since: undefined, alarms: 1, windowsClosed: 7 });
    expect(off.windows.map((w) => w.alarm)).toEqual([false, true, true, true, true, true, false]);
    expect(off.events.map((e) => [e.alarm, e.at.getTime()])).toEqual([
      [true, 1_002_000],
      [false, 1_007_000],
    ]);
    expect(changes).toEqual([true, false]);
    expect(lines.map((l) => l.split(':')[1])).toEqual([
      ' alarm on for digits-tiny',
      ' alarm off for digits-tiny',
    ]);
  });

  it('a different alarm threshold decides differently on the same windows', () => {
    const { monitor } = monitorWith({ alarmPsi: 2 });
    monitor.receive('dev-1', body(SHIFTED.map((c) => c * 2)));
    expect(monitor.status()).toMatchObject({ alarm: false, windowsClosed: 1 });
  });

  it('refuses and counts histograms of another model, score or bins, and malformed ones; they change nothing', () => {
    const { monitor, lines } = monitorWith();
    monitor.receive('dev-1', body(IN, { model: 'digits-tiny:2' }));
    monitor.receive('dev-1', body(IN, { model: 'digits-tiny:2' }));
    monitor.receive('dev-1', body(IN, { score: 'maxprob' }));
    monitor.receive('dev-1', body(IN, { bins: [0, 0.4, 0.9, 1] }));
    monitor.receive('dev-1', body([20, 30]));
    monitor.receive('dev-1', body([20, -30, 50]));
    monitor.receive('dev-1', 'not a body');
    const status = monitor.status();
    expect(status.refused).toEqual({ malformed: 3, 'other-model': 2, 'other-score': 1, 'other-bins': 1 });
    expect(status.accepted).toBe(0);
    expect(status.open).toEqual({ count: 0, devices: 0 });
    // One line per kind of refusal, not per message.
    expect(lines).toHaveLength(4);
  });

  it('checks its options', () => {
    expect(() => resolveDriftSettings({ windowRequests: 0 })).toThrow(/drift.windowRequests/);
    expect(() => resolveDriftSettings({ alarmAuditRate: 2 })).toThrow(/drift.alarmAuditRate/);
    expect(resolveDriftSettings()).toMatchObject({ windowRequests: 500, alarmPsi: 0.2, calmWindows: 3 });
  });
});

describe('audit rate on drift', () => {
  const published: { threshold: number | undefined; auditRate: number; model: string }[] = [];
  let last: PolicyMessage | undefined;
  const drift = (calmRate?: () => number | undefined) =>
    createEdgeDrift({
      reference,
      options: { windowRequests: 100, calmWindows: 1 },
      logger: { info: () => {}, warn: () => {} },
      ...(calmRate && { calmRate }),
      published: () => last,
      publish: async (policy, { model, auditRate }) => {
        published.push({ threshold: policy?.threshold, auditRate, model });
        last = {
          edge: 'e',
          version: published.length,
          model,
          ...(policy && { policy }),
          audit_rate: auditRate,
        };
        return last;
      },
    })!;

  it('publishes the policy in effect with 0.2 on alarm, and the rate from before once calm', () => {
    last = {
      edge: 'e',
      version: 1,
      model: 'digits-tiny:1',
      policy: { score: 'margin', threshold: 0.4 },
      audit_rate: 0.05,
    };
    const monitor = drift();
    monitor.receive('d', body(SHIFTED));
    monitor.receive('d', body(IN));
    expect(published).toEqual([
      { threshold: 0.4, auditRate: 0.2, model: 'digits-tiny:1' },
      { threshold: 0.4, auditRate: 0.05, model: 'digits-tiny:1' },
    ]);
  });

  it("once calm, goes back to the calm rate set on purpose (an operator's, changed during the alarm), not the one before", () => {
    published.length = 0;
    last = { edge: 'e', version: 1, model: 'digits-tiny:1', audit_rate: 0.05 };
    let calm: number | undefined = 0.05;
    const monitor = drift(() => calm);
    monitor.receive('d', body(SHIFTED));
    calm = 0.5;
    monitor.receive('d', body(IN));
    expect(published.map((p) => p.auditRate)).toEqual([0.2, 0.5]);
  });

  it('with no policy published, sends the audit rate alone (the devices keep their own routing), then the default rate', () => {
    published.length = 0;
    last = undefined;
    const monitor = drift();
    monitor.receive('d', body(SHIFTED));
    monitor.receive('d', body(IN));
    expect(published).toEqual([
      { threshold: undefined, auditRate: 0.2, model: 'digits-tiny:1' },
      { threshold: undefined, auditRate: 0.02, model: 'digits-tiny:1' },
    ]);
  });
});

describe('settling on a shift that persists', () => {
  const OTHER = [20, 70, 10]; // shifted too (PSI ≈ 0.98), but unlike SHIFTED (PSI 0.18 against their sum)
  const windows = (monitor: DriftMonitor, ...list: number[][]) => {
    for (const counts of list) monitor.receive('dev-1', body(counts.map((c) => c * 2)));
  };

  it('once the routing changed and settleWindows windows agree, re-bases on them and clears the alarm; a further shift raises it again', () => {
    const { monitor, changes, lines } = monitorWith();
    windows(monitor, SHIFTED, SHIFTED, SHIFTED, SHIFTED);
    // Stable among themselves, but nothing acted on the alarm: it stays on (audits stay high).
    expect(monitor.status()).toMatchObject({ alarm: true, reference: 'calibration' });
    monitor.routingChanged();
    // The device's scores do not depend on the routing: the alarm's windows before the change count.
    windows(monitor, SHIFTED);
    const settled = monitor.status();
    expect(settled).toMatchObject({ alarm: false, reference: 'settled', alarms: 1 });
    expect(settled.settledAt).toBeInstanceOf(Date);
    expect(settled.events.map((e) => [e.alarm, e.settled ?? false])).toEqual([
      [true, false],
      [false, true],
    ]);
    expect(lines.at(-1)).toMatch(/settled on the new population/);
    windows(monitor, SHIFTED);
    expect(monitor.status().alarm).toBe(false);
    expect(monitor.status().lastPsi).toBeCloseTo(0, 9);
    // The inputs change again (here: back to the calibration population): a new alarm.
    windows(monitor, IN);
    expect(monitor.status()).toMatchObject({ alarm: true, alarms: 2 });
    expect(changes).toEqual([true, false, true]);
  });

  it('does not settle on windows that disagree among themselves, nor with settlePsi 0', () => {
    const { monitor } = monitorWith();
    monitor.routingChanged(); // before the alarm: does not count
    windows(monitor, SHIFTED, SHIFTED, SHIFTED, SHIFTED);
    expect(monitor.status().alarm).toBe(true);
    monitor.routingChanged();
    windows(monitor, OTHER, SHIFTED, OTHER, SHIFTED, OTHER);
    expect(monitor.status()).toMatchObject({ alarm: true, reference: 'calibration' });

    const off = monitorWith({ settlePsi: 0 }).monitor;
    windows(off, SHIFTED);
    off.routingChanged();
    windows(off, SHIFTED, SHIFTED, SHIFTED, SHIFTED);
    expect(off.status().alarm).toBe(true);
  });

  it("on the edge: settling publishes the controller's policy with the calm audit rate", () => {
    const published: { threshold: number | undefined; auditRate: number }[] = [];
    let last: PolicyMessage | undefined;
    const monitor = createEdgeDrift({
      reference,
      options: { windowRequests: 100 },
      logger: { info: () => {}, warn: () => {} },
      published: () => last,
      publish: async (policy, { model, auditRate }) => {
        published.push({ threshold: policy?.threshold, auditRate });
        last = {
          edge: 'e',
          version: published.length,
          model,
          ...(policy && { policy }),
          audit_rate: auditRate,
        };
        return last;
      },
    })!;
    monitor.receive('d', body(SHIFTED));
    // The controller's fallback, published during the alarm (still at the alarm's rate).
    last = { ...last!, version: 9, policy: { score: 'margin', threshold: 0.9 }, audit_rate: 0.2 };
    monitor.routingChanged();
    for (let i = 0; i < 3; i++) monitor.receive('d', body(SHIFTED));
    expect(monitor.status().reference).toBe('settled');
    expect(published).toEqual([
      { threshold: undefined, auditRate: 0.2 },
      { threshold: 0.9, auditRate: 0.02 },
    ]);
  });
});

describe('routing changes the settle rule counts', () => {
  it('counts a moved threshold of the edge or its devices, not a republish of the same policy at another audit rate', () => {
    const { monitor } = monitorWith();
    const quiet = { info: () => {}, warn: () => {} };
    const control = new RoutingControl({
      edgeId: 'e',
      initial: { score: 'maxprob', threshold: 0.6 },
      logger: quiet,
    });
    const calibrated = { score: 'margin', threshold: 0.33 } as const;
    watchRouting(control, monitor, calibrated);
    const publish = (threshold: number, auditRate: number) =>
      control.commitDevicePolicy(
        control.prepareDevicePolicy({ score: 'margin', threshold }, { model: 'digits-tiny:1', auditRate })
          .message,
      );
    const settlesAfter = () => {
      for (let i = 0; i < 3; i++) monitor.receive('dev-1', body(SHIFTED.map((c) => c * 2)));
      return monitor.status().reference === 'settled';
    };
    monitor.receive('dev-1', body(SHIFTED.map((c) => c * 2))); // alarm
    // The alarm's audit rate alone (no policy published yet), then on the calibrated policy.
    control.commitDevicePolicy(
      control.prepareDevicePolicy(undefined, { model: 'digits-tiny:1', auditRate: 0.2 }).message,
    );
    expect(settlesAfter()).toBe(false);
    publish(0.33, 0.2);
    publish(0.33, 0.02);
    expect(settlesAfter()).toBe(false);
    control.setEdge({ score: 'maxprob', threshold: 0.8 }); // the controller moved the edge's threshold
    expect(settlesAfter()).toBe(true);
  });
});
