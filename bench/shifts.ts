/**
 * `npm run bench -- shifts [--count 1500] [--seed 1]`: the digits cascade on each named shift of our own
 * (shared/src/digits/shift-spec.ts) against the unshifted test split, with onnxruntime directly (no
 * fabric): each model's accuracy, and how the cascade routes at its configs' calibrated thresholds.
 */
import { collectStream, SHIFT_PRESETS, type Shift } from '@fogline/shared/digits';
import {
  CASCADE,
  closeCascade,
  measureShift,
  openCascade,
  type ShiftMeasurement,
} from '../models/digits-shifts.ts';
import { numberFlag } from './lib/flags.ts';
import { machineLine, pct, reportHead, table, writeReport } from './lib/report.ts';

const HEAD = `shift | ${CASCADE.join(' | ')} | device answers | device right on those | cascade | edge / cloud share | cascade − always-cloud`;

export default async function run(args: string[] = []): Promise<void> {
  const count = numberFlag(args, '--count', 1500);
  const seed = numberFlag(args, '--seed', 1);
  const tiers = await openCascade(2);
  const shifts: [string, Shift][] = [['none', {}], ...Object.entries(SHIFT_PRESETS)];
  const results: (ShiftMeasurement & { shift: string; spec: Shift })[] = [];
  for (const [name, shift] of shifts) {
    const stream = collectStream({ seed, segments: [{ count, shift }] });
    const m = await measureShift(tiers, stream);
    results.push({ shift: name, spec: shift, ...m });
    console.log(`${name}: ${m.accuracy.map((a) => pct(a)).join(' / ')}, device answers ${pct(m.share[0]!)}`);
  }
  await closeCascade(tiers);
  const row = (r: (typeof results)[number]) =>
    [
      r.shift,
      ...r.accuracy.map((a) => pct(a)),
      pct(r.share[0]!),
      pct(r.deviceAnsweredAccuracy),
      pct(r.cascadeAccuracy),
      `${pct(r.share[1]!)} / ${pct(r.share[2]!)}`,
      `${(100 * (r.cascadeAccuracy - r.accuracy[2]!)).toFixed(1)} pp`,
    ].join(' | ');
  const policies = tiers
    .slice(0, -1)
    .map((t) => `${t.model} ${t.policy.score} ≥ ${t.policy.threshold.toFixed(4)}`)
    .join(', ');
  const report = { ...reportHead('shifts', args), count, seed, policies, results };
  writeReport(
    'shifts',
    report,
    `# The digits cascade on shifts of our own

${machineLine(report.at, report.machine)} · command: \`${report.command}\`

${count} inputs per shift, drawn from the test split (the printed ones from the 220 printed digits) in a seeded order (seed ${seed}; \`collectStream\`, shared/src/digits/shift.ts), each model under onnxruntime-node; the cascade routes as the committed configs say (${policies}; the cloud answers what reaches it). Reproduce one row as a dataset: \`--data shift:<name>,count=${count}@seed=${seed}\`.

${table(HEAD, results.map(row))}

Shifts (shared/src/digits/shift-spec.ts): ${results
      .slice(1)
      .map((r) => `\`${r.shift}\` ${JSON.stringify(r.spec)}`)
      .join('; ')}.
`,
  );
}
