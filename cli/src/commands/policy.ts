/**
 * `fogline policy show|history|pin|unpin|audit-rate <edge>`: an edge's routing as the cloud's controller
 * and its operators set it (docs/cli.md "fogline policy"; admin API /api/edges/{id}/policy). `pin` sets
 * both stages' thresholds and turns the controller off for that edge until `unpin`; score kinds stay as
 * the edge routes by (the cloud refuses another kind). `audit-rate` sets the share of requests the
 * edge's devices audit, until cleared (docs/field-accuracy.md "The audit rate").
 */

import type { AuditRateView, PolicyChangeView } from '@fogline/cloud';
import { FoglineError, isAuditRate, SCORE_KINDS, type ScoreKind } from '@fogline/shared';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { formatTable } from '../format.ts';
import { type AdminTargetFlags, adminClient, withAdminTarget } from './admin-target.ts';
import { formatStage } from './status.ts';

interface PinFlags extends AdminTargetFlags {
  device: number;
  edge: number;
  score?: ScoreKind;
  reason?: string;
}

function threshold(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !(n >= 0 && n <= 1.01)) {
      throw new InvalidArgumentError(
        `${flag} must be a number in [0, 1] (1.01: always escalate), got '${value}'`,
      );
    }
    return n;
  };
}

/** `<p>` of `policy audit-rate`: a rate in [0, 1], or `default` (the edge's own: the operator's cleared). */
export function auditRateArgument(value: string): number | 'default' {
  if (value === 'default') return value;
  const n = value.trim() === '' ? Number.NaN : Number(value);
  if (!isAuditRate(n)) {
    throw new InvalidArgumentError(`the audit rate must be a number in [0, 1] or 'default', got '${value}'`);
  }
  return n;
}

/** `0.5 (operator)`, or why nothing is known. */
export function formatAuditRate(a: AuditRateView): string {
  const effect = a.in_effect ? `${a.in_effect.rate} (${a.in_effect.source})` : 'unknown (no telemetry)';
  return `${effect}; operator's: ${a.operator ?? "none (the edge's own)"}`;
}

function changeRow(c: PolicyChangeView): string[] {
  const stages = (s: PolicyChangeView['from']) =>
    s ? `${formatStage(s.device)} ${formatStage(s.edge)}` : '-';
  if (c.action === 'audit-rate') {
    const rate = (r: unknown) => `audit rate ${typeof r === 'number' ? r : "edge's own"}`;
    return [c.at, c.source, c.action, rate(c.figures?.from), rate(c.figures?.to), c.why];
  }
  return [c.at, c.source, c.action, stages(c.from), stages(c.to), c.why];
}

export function registerPolicy(program: Command): void {
  const policy = program
    .command('policy')
    .description("an edge's routing thresholds: what the controller decided, its history, operator pins");

  withAdminTarget(
    policy
      .command('show')
      .argument('<edge>', 'edge id')
      .description('current and desired policy, pin, last decision'),
  ).action(async (edge: string, flags: AdminTargetFlags) => {
    const p = await (await adminClient(flags)).policy(edge);
    if (flags.json) return void console.log(JSON.stringify(p));
    console.log(`edge ${p.edge}`);
    console.log(
      `  current:  ${p.current ? `device ${formatStage(p.current.device)}, edge ${formatStage(p.current.edge)}${p.current.pinned_on_edge ? ' (pinned on the edge)' : ''}` : 'unknown (no telemetry)'}`,
    );
    console.log(
      `  desired:  ${p.desired ? `device ${formatStage(p.desired.device)}, edge ${formatStage(p.desired.edge)} (${p.desired.id}: ${p.desired.reason})` : 'none (as deployed)'}`,
    );
    console.log(
      `  pinned:   ${p.pinned ? 'yes (controller off for this edge)' : 'no'}; conservative: ${p.conservative ? 'yes' : 'no'}`,
    );
    console.log(`  audit rate: ${formatAuditRate(p.audit_rate)}`);
    if (p.reference_weak) console.log(`  reference weak on this traffic: ${p.reference_weak}`);
    const d = p.last_decision;
    console.log(`  last decision: ${d ? `${d.action} at ${d.at}: ${d.why}` : 'none yet'}`);
  });

  withAdminTarget(
    policy
      .command('history')
      .argument('<edge>', 'edge id')
      .description("every change of the edge's policy, newest first (when, who, old → new, why)")
      .addOption(
        new Option('--limit <n>', 'changes shown at most').default(50).argParser((v) => {
          const n = Number(v);
          if (!Number.isInteger(n) || n < 1 || n > 1000)
            throw new InvalidArgumentError('--limit must be an integer in [1, 1000]');
          return n;
        }),
      ),
  ).action(async (edge: string, flags: AdminTargetFlags & { limit: number }) => {
    const changes = await (await adminClient(flags)).policyChanges(edge, flags.limit);
    if (flags.json) return void console.log(JSON.stringify(changes));
    console.log(
      formatTable(
        ['at', 'source', 'action', 'from (device edge)', 'to (device edge)', 'why'],
        changes.map(changeRow),
      ),
    );
  });

  withAdminTarget(
    policy
      .command('pin')
      .argument('<edge>', 'edge id')
      .description(
        "set both stages' thresholds and pin them: the controller leaves this edge alone until unpin",
      )
      .requiredOption('--device <threshold>', "the devices' threshold", threshold('--device'))
      .requiredOption('--edge <threshold>', "the edge's threshold", threshold('--edge'))
      .addOption(
        new Option(
          '--score <kind>',
          'score kind of both stages (default: what the edge routes by now)',
        ).choices([...SCORE_KINDS]),
      )
      .option('--reason <text>', 'why, for the change log'),
  ).action(async (edge: string, flags: PinFlags) => {
    const client = await adminClient(flags);
    const current = (await client.policy(edge)).current;
    const scoreOf = (stage: 'device' | 'edge') => flags.score ?? current?.[stage]?.score;
    const device = scoreOf('device');
    const edgeScore = scoreOf('edge');
    if (device === undefined || edgeScore === undefined) {
      throw new InvalidArgumentError(`edge '${edge}' has reported no policy yet: give --score`);
    }
    const p = await client.pinPolicy(edge, {
      device: { score: device, threshold: flags.device },
      edge: { score: edgeScore, threshold: flags.edge },
      ...(flags.reason !== undefined && { reason: flags.reason }),
    });
    if (flags.json) return void console.log(JSON.stringify(p));
    console.log(
      `pinned edge '${edge}': device ${formatStage(p.desired?.device)}, edge ${formatStage(p.desired?.edge)}`,
    );
  });

  withAdminTarget(
    policy
      .command('audit-rate')
      .argument('<edge>', 'edge id')
      .argument(
        '[p]',
        "share of requests the edge's devices audit, in [0, 1]; 'default': the edge's own",
        auditRateArgument,
      )
      .description(
        "set the audit rate of the edge's devices (they apply it at once, without reconnecting); a drift alarm's rate still rules while the alarm is on",
      )
      .option('--clear', "drop the operator's rate: back to the edge's own (--audit-rate, else 0.02)")
      .option('--reason <text>', 'why, for the change log'),
  ).action(
    async (
      edge: string,
      rate: number | 'default' | undefined,
      flags: AdminTargetFlags & { clear?: boolean; reason?: string },
    ) => {
      if ((rate === undefined) === (flags.clear !== true)) {
        throw new FoglineError('INVALID_ARG', "give either a rate <p> ('default' to clear) or --clear");
      }
      const clear = flags.clear === true || rate === 'default';
      const client = await adminClient(flags);
      const p = await client.setAuditRate(
        edge,
        clear ? null : { rate: rate as number, ...(flags.reason !== undefined && { reason: flags.reason }) },
      );
      if (flags.json) return void console.log(JSON.stringify(p));
      console.log(
        clear
          ? `edge '${edge}': operator's audit rate cleared, back to the edge's own`
          : `edge '${edge}': audit rate ${rate} set; its devices take it once the edge gets its desired state (see \`fogline policy show\`)`,
      );
    },
  );

  withAdminTarget(
    policy.command('unpin').argument('<edge>', 'edge id').description('hand the edge back to the controller'),
  ).action(async (edge: string, flags: AdminTargetFlags) => {
    const p = await (await adminClient(flags)).unpinPolicy(edge);
    if (flags.json) return void console.log(JSON.stringify(p));
    console.log(`unpinned edge '${edge}': the controller decides its policy again`);
  });
}
