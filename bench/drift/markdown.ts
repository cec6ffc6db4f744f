/** The drift bench's markdown report (bench/reports/drift.md). */
import type { CascadePolicy } from '@fogline/toolchain';
import type { LiveResult, LiveSummary, ShiftResult } from '../drift.ts';
import { type Machine, machineLine, ms, pct, table, targetsTable } from '../lib/report.ts';
import { pp, type RunSummary } from './evaluate.ts';
import type { WindowFigures } from './windows.ts';

interface DriftReport {
  readonly at: string;
  readonly command: string;
  readonly machine: Machine;
  readonly settings: {
    readonly requests: number;
    readonly shiftAt: number;
    readonly seed: number;
    readonly seeds: number;
    readonly window: number;
    readonly decideEvery: number;
    readonly budget: number;
    readonly auditRate: number;
    readonly recovery: { readonly tolerance: number; readonly span: number; readonly step: number };
  };
  readonly policy: CascadePolicy;
  readonly results: readonly ShiftResult[];
  readonly live: readonly LiveResult[];
}

function liveSection(x: LiveResult): string {
  const extra = (name: string, f: (s: LiveSummary) => string) => `${name} | ${f(x.off)} | ${f(x.on)}`;
  const rows = [
    ...summaryRows(x.off, x.on).filter((r) => !r.startsWith('cloud calls') && !r.includes('audits drawn')),
    extra('audits sent by the device', (s) => String(s.auditsSent)),
    extra('wall time of the run (s)', (s) => s.wallSec.toFixed(0)),
  ];
  const { auditsOn: on, auditsOff: off } = x.latency;
  const ratio = (a: number, b: number) => (a / b).toFixed(2);
  const latency = (['meanMs', 'p50Ms', 'p90Ms', 'p99Ms'] as const).map(
    (k) => `${k.replace('Ms', '')} | ${ms(off[k])} | ${ms(on[k])} | ${ratio(on[k], off[k])}`,
  );
  const windows = x.on.windows.map((w, i) => {
    const o = x.off.windows[i]!;
    return `${w.start}–${w.end} | ${pct(w.alwaysCloud)} | ${pp(o.accuracy - o.alwaysCloud)} | ${pct(o.share.cloud)} | ${pp(w.accuracy - w.alwaysCloud)} | ${shares(w)} | ${pct(w.auditRate)} | ${w.alarm > 0 ? pct(w.alarm, 0) : ''}`;
  });
  const timeline = x.on.timeline
    .filter((e) => e.at >= x.on.inDistribution.end)
    .map((e) => `${e.at} | ${e.what}`);
  const path = x.on.auditPath.map((r) => {
    const sent = r.stages[0];
    return `${r.k} | ${r.stages.map((st) => (sent ? `${st.at} (+${(st.ms - sent.ms).toFixed(0)} ms)` : '–')).join(' | ')}`;
  });
  return `### ${x.shift}, live

${targetsTable(x.targets)}

${table('figure | controller off | controller on', rows)}

The loop, controller on, by request (the first request sent after each step; shift at ${x.on.inDistribution.end}):

${table('request | step', timeline)}

The audit path after the alarm, controller on: the k-th audit the device sent since, by the request before which each stage had counted it (sampled every 25 requests), and ms after the device sent it:

${table("k-th audit | sent by the device | received by the edge | uploaded | stored by the cloud | in the controller's window", path)}

Device answer latency (ms, whole \`infer\` call, batches of 25 in flight), controller off, on the whole stream (${on.requests} requests, the same routing both times): audits off (p = 0) vs on (2 %, 20 % during the alarm), run one after the other:

${table('figure | audits off | audits on | on / off', latency)}

${table('window | always-cloud | off: accuracy − cloud | off: cloud | on: accuracy − cloud | on: device / edge / cloud | on: audit rate | alarm', windows)}
`;
}

const showPolicy = (p: CascadePolicy) =>
  `device ${p.device.score} ≥ ${p.device.threshold.toFixed(3)}, edge ${p.edge.score} ≥ ${p.edge.threshold.toFixed(3)}`;
const shares = (f: WindowFigures) => `${pct(f.share.device)} / ${pct(f.share.edge)} / ${pct(f.share.cloud)}`;
const gap = (f: WindowFigures | undefined) => (f ? pp(f.accuracy - f.alwaysCloud) : '–');

function summaryRows(off: RunSummary, on: RunSummary): string[] {
  const row = (name: string, f: (s: RunSummary) => string) => `${name} | ${f(off)} | ${f(on)}`;
  const actions = (s: RunSummary) =>
    s.controller
      ? Object.entries(s.actions)
          .map(([a, n]) => `${a} ×${n}`)
          .join(', ')
      : '–';
  return [
    row('in distribution: accuracy − always-cloud', (s) => gap(s.inDistribution)),
    row('in distribution: device / edge / cloud', (s) => shares(s.inDistribution)),
    row(
      'in distribution: audit rate (audits drawn)',
      (s) => `${pct(s.inDistribution.auditRate)} (${pct(s.inDistribution.audited)})`,
    ),
    row('after the shift, all of it: accuracy − always-cloud', (s) => gap(s.shifted)),
    row('after the shift: device / edge / cloud', (s) => shares(s.shifted)),
    row('requests from the shift until back within 0.3 pp', (s) =>
      s.recovery === undefined ? 'never' : String(s.recovery),
    ),
    row('from there on: accuracy − always-cloud', (s) => gap(s.recovered)),
    row('from there on: device / edge / cloud', (s) => (s.recovered ? shares(s.recovered) : '–')),
    row(
      'drift alarm raised at / settled at (request)',
      (s) => `${s.alarmsAt.join(', ') || '–'} / ${s.settledAt ?? '–'}`,
    ),
    row('audit rate once settled (audits drawn)', (s) =>
      s.settled ? `${pct(s.settled.auditRate)} (${pct(s.settled.audited)})` : '–',
    ),
    row('audit rate after the shift, all of it', (s) => pct(s.shifted.auditRate)),
    row(
      'cloud calls after the shift: answers / audits',
      (s) => `${s.shifted.cloudCalls.answers} / ${s.shifted.cloudCalls.audits}`,
    ),
    row('controller decisions (changes of action)', actions),
    row('policy at the end', (s) => showPolicy(s.finalPolicy)),
  ];
}

function windowRows(off: RunSummary, on: RunSummary): string[] {
  return on.windows.map((w, i) => {
    const o = off.windows[i]!;
    return [
      `${w.start}–${w.end}`,
      pct(w.alwaysCloud),
      pct(w.alwaysEdge),
      pct(w.alwaysDevice),
      pct(w.oracle),
      `${pct(o.accuracy)} (${pp(o.accuracy - o.alwaysCloud)})`,
      pct(o.share.cloud),
      `${pct(w.accuracy)} (${pp(w.accuracy - w.alwaysCloud)})`,
      shares(w),
      `${pct(w.auditRate)} / ${w.cloudCalls.audits}`,
      w.alarm > 0 ? pct(w.alarm, 0) : '',
    ].join(' | ');
  });
}

export function renderDrift(r: DriftReport): string {
  const s = r.settings;
  const detailed = r.results.filter((x) => x.seed === s.seed);
  const targets = detailed.flatMap((x) => x.targets);
  const seedRows = [...new Set(r.results.map((x) => x.shift))].map((shift) => {
    const runs = r.results.filter((x) => x.shift === shift);
    const cell = (x: ShiftResult) => {
      const missed = x.targets.filter((t) => !t.met).map((t) => t.name.slice(shift.length + 2));
      const rec =
        x.on.firstWeakReferenceAt !== undefined ? 'weak reference' : `back after ${x.on.recovery ?? 'never'}`;
      const cloud = x.on.recovered ? `, cloud ${pct(x.on.recovered.share.cloud)}` : '';
      return `${missed.length === 0 ? 'all met' : `**missed**: ${missed.join('; ')}`} (${rec}${cloud})`;
    };
    return [shift, ...runs.map(cell)].join(' | ');
  });
  const seedsHead = `shift | ${[...new Set(r.results.map((x) => `seed ${x.seed}`))].join(' | ')}`;
  const sections = detailed.map(
    (x) => `## ${x.shift}

${table('figure | controller off | controller on', summaryRows(x.off, x.on))}

Controller on, its decisions (first of each run of the same action): ${
      x.on.decisions
        .filter((d) => d.action !== 'hold')
        .slice(0, 4)
        .map((d) => `at ${d.at}: ${d.action} — ${d.why}`)
        .join('; ') || 'none'
    }.

${table(
  'window | always-cloud | always-edge | always-device | oracle | off: accuracy (− cloud) | off: cloud | on: accuracy (− cloud) | on: device / edge / cloud | on: audit rate / audit calls | alarm',
  windowRows(x.off, x.on),
)}
`,
  );
  return `# The closed loop on shifted streams (offline replay)

${machineLine(r.at, r.machine)} · command: \`${r.command}\`

${s.requests} requests per shift (detail: seed ${s.seed}; targets also for ${s.seeds} seeds from it): the first ${s.shiftAt} from the test split as is, the rest shifted (\`collectStream\`, shared/src/digits/shift.ts), each scored once by the committed cascade under onnxruntime-node and then replayed request by request through the code the system runs (bench/drift/simulate.ts): routing by the policy in effect (calibrated: ${showPolicy(r.policy)}), audits drawn with p = ${pct(s.auditRate, 0)} (20 %, the edge monitor's alarm rate, during a drift alarm), device score histograms every 100 requests into the edge's \`DriftMonitor\` (windows of 500, alarm past PSI 0.2, settle rule), and with the controller on \`decidePolicy\` every ${s.decideEvery} requests on the records since the alarm, cloud budget ${pct(s.budget, 0)}, its policy applied at once. Calibration (drift reference, d0, weak-reference baselines) from 1,500 calibration-split digits, never the stream.

**Not the live system**: no sockets, no latency; the same pure code, so the decisions are what the cloud's controller service would take at one decision per ${s.decideEvery} requests. "Back within 0.3 pp": the first point r (every ${s.recovery.step} requests) after which every stretch of ≥ ${s.recovery.span} requests from r reads accuracy ≥ always-cloud − ${(100 * s.recovery.tolerance).toFixed(1)} pp on the same requests (one window of 500 has a noise of about ±0.5 pp, larger than the tolerance).

## Targets (controller on), seed ${s.seed}

${targetsTable(targets)}

## Targets over ${s.seeds} seeds (each: another stream of the same shift and other audit draws)

${table(seedsHead, seedRows)}

Plot: [drift.svg](drift.svg).

${sections.join('\n')}${
  r.live.length === 0
    ? ''
    : `
## On the real system (\`--live\`)

The same stream (seed ${s.seed}) sent by one SDK device, 25 requests in flight, to a real edge agent and cloud on 127.0.0.1 in this process (bench/drift/live.ts): PGlite store; the product's cadences — the controller's rounds every 10 s, every 500 ms during a drift alarm and at once when records of the alarmed edge are stored (budget ${pct(s.budget, 0)}), edge telemetry every 5 s and at once on an alarm or a directive, audit uploads after 1 s (at once during an alarm, one in flight), the cloud's reference pass one batch per upload; drift windows of 500; calibrated policy published with p = 2 %. One device here stands for a fleet: it sends a score histogram every 100 requests (the SDK's default is 500 or 10 s per device) and its audit and report budgets are raised (defaults 2/s and 5/s per device). Each answer judged against its label; baselines from the offline scores of the same inputs; the targets judged by the same code as the replay's. "Audit rate" is the rate in effect; the audits actually sent are counted by the device.

${r.live.map(liveSection).join('\n')}`
}`;
}
