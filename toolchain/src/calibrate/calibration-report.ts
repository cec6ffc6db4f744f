/** The calibration report: tiers, chosen policy against the baselines on both splits, frontier. */
import type { DriftReference, ResolvedPolicy } from '@fogline/shared';
import type { CascadeOutcome, CascadePolicy, NetworkCosts } from './cascade.ts';
import type { PolicyPoint } from './sweep.ts';

export interface TierSummary {
  readonly role: 'device' | 'edge' | 'cloud';
  readonly model: string;
  /** The version calibrated (reports from before it was recorded have none). */
  readonly version?: number;
  readonly accuracy: number;
  readonly evalAccuracy: number;
  readonly latencyMs: number;
}

/** One row: a named router measured on the calibration split and on the evaluation split. */
export interface RouterRow {
  readonly name: string;
  readonly policy?: CascadePolicy;
  readonly calibration: CascadeOutcome;
  readonly evaluation: CascadeOutcome;
}

export interface CalibrationReport {
  readonly command: string;
  readonly split: string;
  readonly evalSplit: string;
  readonly network: NetworkCosts;
  readonly objective: string;
  readonly tiers: readonly TierSummary[];
  readonly policiesSwept: number;
  /** The chosen policy first, then always-device/edge/cloud and the oracle router. */
  readonly rows: readonly RouterRow[];
  /** The objective's pick when both stages must use the given score kinds. */
  readonly perScoreKind: readonly RouterRow[];
  readonly frontier: readonly PolicyPoint[];
  readonly written: readonly string[];
  /** The device's calibration score histogram (the configs' `drift` block), when a policy was chosen. */
  readonly drift?: DriftReference;
}

const pct = (v: number): string => `${(v * 100).toFixed(2)}`;
const shares = (o: CascadeOutcome): string =>
  `${pct(o.share.device)} / ${pct(o.share.edge)} / ${pct(o.share.cloud)}`;

export function formatStage(s: ResolvedPolicy): string {
  if (!Number.isFinite(s.threshold)) return 'escalate all';
  return s.threshold <= 0 ? 'answer all' : `${s.score} ≥ ${s.threshold.toFixed(4)}`;
}

function rowCells(r: RouterRow): string[] {
  const rule = r.policy ? `${formatStage(r.policy.device)}; ${formatStage(r.policy.edge)}` : '–';
  const c = r.calibration;
  const e = r.evaluation;
  return [
    r.name,
    rule,
    pct(c.accuracy),
    shares(c),
    c.expectedLatencyMs.toFixed(2),
    pct(e.accuracy),
    shares(e),
    e.expectedLatencyMs.toFixed(2),
  ];
}

function table(header: string[], rows: string[][]): string[] {
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ];
}

/** At most `max` evenly spaced frontier points, always keeping both ends. */
function thin<T>(items: readonly T[], max: number): T[] {
  if (items.length <= max) return [...items];
  return Array.from({ length: max }, (_, i) => items[Math.round((i * (items.length - 1)) / (max - 1))]!);
}

export function calibrationMarkdown(r: CalibrationReport, svgFile?: string): string {
  const routerHeader = [
    'router',
    'device rule; edge rule',
    'cal acc %',
    'cal share d/e/c %',
    'cal latency ms',
    'test acc %',
    'test share d/e/c %',
    'test latency ms',
  ];
  const lines = [
    '# Cascade calibration',
    '',
    `\`${r.command}\``,
    '',
    `- objective: ${r.objective}; fitted on \`${r.split}\`, evaluated on \`${r.evalSplit}\``,
    `- network round trips: device↔edge ${r.network.deviceEdgeRttMs} ms, edge↔cloud ${r.network.edgeCloudRttMs} ms; ${r.policiesSwept} policies swept`,
    `- expected latency = device compute + P(reach edge)·(RTT + edge compute) + P(reach cloud)·(RTT + cloud compute), batch-1 compute measured here`,
    '',
    ...table(
      ['tier', 'model', 'cal accuracy %', 'test accuracy %', 'batch-1 latency ms'],
      r.tiers.map((t) => [t.role, t.model, pct(t.accuracy), pct(t.evalAccuracy), t.latencyMs.toFixed(3)]),
    ),
    '',
    '## Chosen policy against the baselines',
    '',
    ...table(routerHeader, r.rows.map(rowCells)),
    '',
    '## The objective restricted to one score kind per stage',
    '',
    ...table(routerHeader, r.perScoreKind.map(rowCells)),
    '',
    `## Frontier on \`${r.split}\` (accuracy vs expected latency; ${r.frontier.length} points, some shown)`,
    '',
    ...(svgFile ? [`![frontier](${svgFile})`, ''] : []),
    'The frontier keeps the policies no other beats on both accuracy and expected latency. A policy',
    'chosen for fewest escalations can sit below it (it may send fewer inputs up, but more of them to',
    'the cloud); `--minimize latency` picks a frontier point instead.',
    '',
    ...table(
      ['device rule', 'edge rule', 'accuracy %', 'share d/e/c %', 'escalations', 'latency ms'],
      thin(r.frontier, 25).map((p) => [
        formatStage(p.policy.device),
        formatStage(p.policy.edge),
        pct(p.outcome.accuracy),
        shares(p.outcome),
        p.outcome.escalations.toFixed(3),
        p.outcome.expectedLatencyMs.toFixed(2),
      ]),
    ),
    '',
    r.written.length > 0
      ? `Routing written to: ${r.written.map((w) => `\`${w}\``).join(', ')}`
      : 'Routing not written (dry run or no feasible policy).',
    '',
    ...(r.drift
      ? [
          `Drift reference (\`drift\`, docs/field-accuracy.md): ${r.drift.model} v${r.drift.version} ${r.drift.score} on ${r.drift.reference.length} bins of ${r.drift.records} samples, edges ${r.drift.bins.map((b) => b.toFixed(4)).join(', ')}.`,
          ...(r.drift.baseline
            ? [
                `Controller baseline (\`drift.baseline\`): the chosen policy disagrees with the cloud on ${pct(r.drift.baseline.disagreement)} % of the calibration samples (d0), the edge agrees with it on ${pct(r.drift.baseline.edgeAgreement)} %, the cloud is right on ${pct(r.drift.baseline.cloudAccuracy)} %.`,
              ]
            : []),
          '',
        ]
      : []),
  ];
  return lines.join('\n');
}
