/**
 * The closed loop, simulated offline (no sockets): a scored stream (scored-stream.ts) replayed
 * request by request through the cascade, with exactly the pure code the running system uses — each
 * request routed by the policy in effect (`answeringTier`), audited with probability p from a seeded
 * generator, the device's scores summed into histogram reports for the edge's `DriftMonitor`, and
 * every `decideEvery` requests `decidePolicy` on the audit records, its policy applied at once. The
 * alarm raises p to the monitor's alarm rate and restarts the record window, as on a real edge; a
 * policy change is told to the monitor (`routingChanged`), which may then settle (drift-monitor.ts).
 */

import { DriftMonitor, type DriftOptions, resolveDriftSettings } from '@fogline/edge-agent';
import { binOf, type DriftReference, driftModelOf, ManualClock, seededRandom } from '@fogline/shared';
import {
  answeringTier,
  type CascadePolicy,
  type ControllerAction,
  type ControllerBaseline,
  decidePolicy,
  type FieldRecord,
} from '@fogline/toolchain';
import type { ScoredItem } from './scored-stream.ts';
import type { RequestOutcome } from './windows.ts';

export interface SimulationOptions {
  readonly items: readonly ScoredItem[];
  /** The calibrated policy the stream starts on. */
  readonly policy: CascadePolicy;
  readonly baseline: ControllerBaseline;
  readonly driftReference: DriftReference;
  /** Controller on (decides and applies) or off (audits and drift only, as today). */
  readonly controller: boolean;
  readonly maxCloudShare: number;
  /** Audit rate outside an alarm. */
  readonly auditRate: number;
  readonly drift?: DriftOptions;
  /** Requests between the controller's decisions (its interval at the request rate). */
  readonly decideEvery: number;
  /** Inferences per device histogram report. */
  readonly histogramEvery: number;
  /** Simulated time per request (ms): the clock of the monitor and the controller. */
  readonly msPerRequest: number;
  readonly seed: number;
}

export interface SimulatedDecision {
  readonly at: number;
  readonly action: ControllerAction;
  readonly why: string;
  readonly policy: CascadePolicy;
}

export interface Simulation {
  readonly requests: readonly RequestOutcome[];
  readonly decisions: readonly SimulatedDecision[];
  /** Requests at which the drift alarm went on (true) or off (false). */
  readonly alarms: readonly { readonly at: number; readonly alarm: boolean }[];
  readonly finalPolicy: CascadePolicy;
}

const QUIET = { info: () => {}, warn: () => {}, error: () => {} };

function recordOf(item: ScoredItem, p: number, atMs: number): FieldRecord {
  return {
    answers: { device: item.out.device.answer, edge: item.out.edge.answer, cloud: item.out.cloud.answer },
    reference: item.out.cloud.answer,
    scores: { device: item.out.device.scores, edge: item.out.edge.scores, cloud: item.out.cloud.scores },
    p,
    atMs,
  };
}

export function simulate(o: SimulationOptions): Simulation {
  const settings = resolveDriftSettings(o.drift);
  const clock = new ManualClock(0);
  const random = seededRandom(o.seed);
  const ref = o.driftReference;
  const bins = ref.bins;
  let policy = o.policy;
  let p = o.auditRate;
  let alarm = false;
  let conservative = false;
  let lastChangeMs: number | undefined;
  let records: FieldRecord[] = [];
  let index = 0;
  const alarms: { at: number; alarm: boolean }[] = [];
  const decisions: SimulatedDecision[] = [];
  const monitor = new DriftMonitor({
    reference: ref,
    settings,
    logger: QUIET,
    now: () => clock.now(),
    onAlarm: (on) => {
      alarm = on;
      p = on ? settings.alarmAuditRate : o.auditRate;
      if (on) records = [];
      alarms.push({ at: index, alarm: on });
    },
  });
  let counts = new Array<number>(bins.length - 1).fill(0);
  let counted = 0;
  let windowStart = 0;
  const requests: RequestOutcome[] = [];
  for (; index < o.items.length; index++) {
    const item = o.items[index]!;
    const record = recordOf(item, p, clock.now());
    const tier = answeringTier(record, policy);
    const audited = random() < p;
    requests.push({ tier, correct: item.out[tier].answer === item.label, audited, p, alarm });
    if (audited) records.push(record);
    counts[binOf(item.out.device.scores[ref.score], bins)]!++;
    if (++counted === o.histogramEvery) {
      monitor.receive('device-1', {
        model: driftModelOf(ref),
        score: ref.score,
        bins: [...bins],
        counts,
        count: counted,
        window_start_ms: windowStart,
        window_end_ms: clock.now(),
      });
      counts = counts.map(() => 0);
      counted = 0;
      windowStart = clock.now();
    }
    if (o.controller && (index + 1) % o.decideEvery === 0) {
      const d = decidePolicy({
        records,
        policy,
        baseline: o.baseline,
        state: {
          pinned: false,
          canary: false,
          driftAlarm: alarm,
          conservative,
          ...(lastChangeMs !== undefined && { lastChangeMs }),
        },
        maxCloudShare: o.maxCloudShare,
        clock,
      });
      if (d.policy) {
        policy = d.policy;
        monitor.routingChanged();
        conservative = d.action === 'conservative';
        lastChangeMs = clock.now();
      }
      if (d.action !== 'hold' || decisions.at(-1)?.action !== 'hold') {
        decisions.push({ at: index + 1, action: d.action, why: d.why, policy });
      }
    }
    clock.advance(o.msPerRequest);
  }
  return { requests, decisions, alarms, finalPolicy: policy };
}
