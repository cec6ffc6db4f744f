/**
 * Policy changes (the live feed's `policyChanges`) as marks on the live charts: each at its time
 * among the chart's points, titled with the time, the edge, the thresholds before → after and why.
 */
import type { Mark } from './line-chart.ts';
import type { LivePolicyChange, StagePolicy } from './types.ts';

/** The marks of `changes` that fall within `times` (the wall clock of each point, ascending). */
export function policyMarks(changes: readonly LivePolicyChange[], times: readonly number[]): Mark[] {
  const first = times[0];
  const last = times.at(-1);
  if (first === undefined || last === undefined || times.length < 2) return [];
  const marks: Mark[] = [];
  for (const c of changes) {
    if (c.at < first || c.at > last) continue;
    const i = Math.max(
      1,
      times.findIndex((t) => t >= c.at),
    );
    const before = times[i - 1]!;
    const after = times[i]!;
    marks.push({
      x: i - 1 + (after > before ? (c.at - before) / (after - before) : 1),
      title: changeTitle(c),
    });
  }
  return marks;
}

/** "12:03:07 · edge-1 · device 0.30 → 0.50, edge 0.20 → 0.20 · refit: agreement fell (controller)". */
export function changeTitle(c: LivePolicyChange): string {
  const time = new Date(c.at).toLocaleTimeString([], { hour12: false });
  return `${time} · ${c.edge} · ${thresholds(c)} · ${c.action}: ${c.why} (${c.source})`;
}

function thresholds(c: LivePolicyChange): string {
  if (!c.to) return 'back to the controller';
  const one = (stage: 'device' | 'edge') => `${stage} ${fmt(c.from?.[stage])} → ${fmt(c.to?.[stage])}`;
  return `${one('device')}, ${one('edge')}`;
}

const fmt = (p: StagePolicy | undefined) => (p ? p.threshold.toFixed(2) : '—');
