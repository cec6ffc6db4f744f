/**
 * `fogline status`: the fleet at a glance, from the running cloud's admin API (GET /api/field): each
 * edge online or not, its field accuracy per tier over its window (agreement with the truth, 95 %
 * Wilson interval, records), the share each tier answered, its audit rate, the drift alarm, the
 * policy in effect, pinned or on the conservative fallback, and a weak reference when there is one.
 */
import type { EdgeFieldView, StageView, TierFieldView } from '@fogline/cloud';
import type { Command } from 'commander';
import { formatTable } from '../format.ts';
import { type AdminTargetFlags, adminClient, withAdminTarget } from './admin-target.ts';

const pct = (x: number | null) => (x === null ? '-' : `${(100 * x).toFixed(1)}%`);

/** `97.1% [96.0–98.0] n=812`, or `-` with no records. */
export function formatAgreement(t: TierFieldView): string {
  if (t.agreement === null) return '-';
  return `${pct(t.agreement)} [${pct(t.low)}–${pct(t.high)}] n=${t.n}`;
}

export const formatStage = (s: StageView | null | undefined) =>
  s ? `${s.score}≥${s.threshold.toFixed(3)}` : '-';

function row(e: EdgeFieldView): string[] {
  const { tiers } = e.field;
  const flags = [e.pinned && 'pinned', e.conservative && 'conservative', e.drift_alarm && 'DRIFT']
    .filter(Boolean)
    .join(',');
  return [
    e.edge,
    e.online ? 'online' : 'offline',
    String(e.field.records),
    pct(e.field.audit_rate),
    formatAgreement(tiers.device),
    formatAgreement(tiers.edge),
    formatAgreement(tiers.cloud),
    `${pct(tiers.device.share)}/${pct(tiers.edge.share)}/${pct(tiers.cloud.share)}`,
    e.policy ? `${formatStage(e.policy.device)} ${formatStage(e.policy.edge)}` : '-',
    flags || '-',
  ];
}

export function registerStatus(program: Command): void {
  withAdminTarget(
    program
      .command('status')
      .description(
        'the fleet at a glance: edges, online, field accuracy per tier (interval, n), drift, policy',
      ),
  ).action(async (flags: AdminTargetFlags) => {
    const fleet = await (await adminClient(flags)).field();
    if (flags.json) return void console.log(JSON.stringify(fleet));
    console.log(
      formatTable(
        [
          'edge',
          'state',
          'audits',
          'rate',
          'device',
          'edge',
          'cloud',
          'answered d/e/c',
          'policy d e',
          'flags',
        ],
        fleet.edges.map(row),
      ),
    );
    for (const e of fleet.edges) {
      if (e.reference_weak) console.log(`${e.edge}: reference weak on this traffic: ${e.reference_weak}`);
    }
    console.log(
      `controller: ${fleet.controller_leader ? 'running on this cloud' : 'not running here (off, or another replica)'}`,
    );
  });
}
