/**
 * `fogline deploy N@V --edges …`, `fogline deploy status [N] [--watch]`, `fogline deploy rollback N`:
 * model rollouts through the admin API (docs/operations.md "Rollout"; /api/deployments).
 */
import type { DeploymentEdgeView, DeploymentView } from '@fogline/cloud';
import { FoglineError, isValidName } from '@fogline/shared';
import { type Command, InvalidArgumentError } from 'commander';
import { parsePositiveInt } from '../flags.ts';
import { formatTable } from '../format.ts';
import { type AdminTargetFlags, adminClient, withAdminTarget } from './admin-target.ts';

interface DeployFlags extends AdminTargetFlags {
  edges: string[] | 'all';
  canary?: number;
  canaryHealthyMs?: number;
  canaryTimeoutMs?: number;
  gate?: boolean;
  gateMinPaired?: number;
  gateMaxDrop?: number;
  gateShadowMs?: number;
  devices?: { model: string; version: number };
}

interface StatusFlags extends AdminTargetFlags {
  id?: string;
  watch?: boolean;
  intervalMs: number;
}

const TERMINAL = new Set(['done', 'failed', 'rolled_back']);

/** `name@version`, as `fogline deploy` and `--devices` take it. */
export function parseModelAt(flag: string) {
  return (value: string): { model: string; version: number } => {
    const m = /^(.+)@([1-9]\d{0,9})$/.exec(value);
    // The model name follows fogline's one name rule (shared core/names.ts).
    if (!m || !isValidName(m[1]))
      throw new InvalidArgumentError(`${flag} must be <model>@<version> (e.g. digits-mid@3), got '${value}'`);
    return { model: m[1]!, version: Number(m[2]) };
  };
}

/** `10%` or `0.1`: a share in (0, 1]. */
export function parseShare(flag: string, allowZero = false) {
  return (value: string): number => {
    const pct = value.trim().endsWith('%');
    const n = Number(pct ? value.trim().slice(0, -1) : value) / (pct ? 100 : 1);
    if (value.trim() === '' || !(allowZero ? n >= 0 : n > 0) || !(n <= 1)) {
      throw new InvalidArgumentError(`${flag} must be a share like 10% or 0.1, at most 100%, got '${value}'`);
    }
    return n;
  };
}

function parseEdges(value: string): string[] | 'all' {
  if (value === 'all') return 'all';
  const list = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (list.length === 0) throw new InvalidArgumentError(`--edges must be e1,e2,… or all, got '${value}'`);
  return list;
}

const ms = (flag: string) => (value: string) => {
  const n = Number(value);
  if (value.trim() === '' || !Number.isSafeInteger(n) || n < 0) {
    throw new InvalidArgumentError(`${flag} must be an integer number of milliseconds >= 0, got '${value}'`);
  }
  return n;
};

export function registerDeploy(program: Command): void {
  const deploy = withAdminTarget(
    program
      .command('deploy')
      .argument(
        '[model@version]',
        'the model version to roll out, from the model store (fogline models push)',
      )
      .description(
        'roll a model version out to edges: a canary share first, the rest once the canary stays healthy; see also deploy status and deploy rollback',
      )
      .option('--edges <ids>', "edge ids, comma-separated, or 'all' (every registered edge)", parseEdges)
      .option(
        '--canary <share>',
        'share of the edges that go first, at least one edge (default 10%)',
        parseShare('--canary'),
      )
      .option(
        '--canary-healthy-ms <ms>',
        'how long every canary edge must stay active before the rest get it (default 60000)',
        ms('--canary-healthy-ms'),
      )
      .option(
        '--canary-timeout-ms <ms>',
        'how long the canary edges have to report active before the deployment fails and the canary edges that moved roll back (default 600000)',
        parsePositiveInt('--canary-timeout-ms'),
      )
      .option(
        '--gate',
        'turn the accuracy gate on with its defaults (40 paired records, 5% drop, 600000 ms shadow)',
      )
      .option(
        '--gate-min-paired <n>',
        'paired records before the gate may judge (turns the gate on)',
        parsePositiveInt('--gate-min-paired'),
      )
      .option(
        '--gate-max-drop <share>',
        'largest accepted drop of agreement, e.g. 5% (turns the gate on)',
        parseShare('--gate-max-drop', true),
      )
      .option(
        '--gate-shadow-ms <ms>',
        'how long the previous version runs in shadow (turns the gate on)',
        ms('--gate-shadow-ms'),
      )
      .option(
        '--devices <model@version>',
        'a device-tier model version the edges serve their devices alongside',
        parseModelAt('--devices'),
      ),
  ).action(async (target: string | undefined, flags: DeployFlags) => {
    if (target === undefined) return void deploy.help({ error: true });
    const at = /^(.+)@(\d+)$/.exec(target);
    if (!at)
      throw new FoglineError(
        'INVALID_ARG',
        `deploy takes <model>@<version> (e.g. digits-mid@3), got '${target}'`,
      );
    const model = at[1]!;
    const version = Number(at[2]);
    if (flags.edges === undefined)
      throw new FoglineError('INVALID_ARG', "--edges is required (e1,e2,… or 'all')");
    const gateOn =
      flags.gate || [flags.gateMinPaired, flags.gateMaxDrop, flags.gateShadowMs].some((v) => v !== undefined);
    const d = await (await adminClient(flags)).deploy({
      model,
      version,
      edges: flags.edges,
      ...(flags.canary !== undefined && { canary: flags.canary }),
      ...(flags.canaryHealthyMs !== undefined && { canaryHealthyMs: flags.canaryHealthyMs }),
      ...(flags.canaryTimeoutMs !== undefined && { canaryTimeoutMs: flags.canaryTimeoutMs }),
      gate: gateOn
        ? {
            ...(flags.gateMinPaired !== undefined && { minPaired: flags.gateMinPaired }),
            ...(flags.gateMaxDrop !== undefined && { maxDrop: flags.gateMaxDrop }),
            ...(flags.gateShadowMs !== undefined && { shadowMs: flags.gateShadowMs }),
          }
        : null,
      ...(flags.devices && { device: flags.devices }),
    });
    if (flags.json) return void console.log(JSON.stringify(d, null, 2));
    const canary = d.edges?.filter((e) => e.stage === 'canary').map((e) => e.edge) ?? [];
    console.log(
      `deployment ${d.id}: ${d.model}@${d.version} to ${d.edges?.length ?? 0} edge(s); canary: ${canary.join(', ')}`,
    );
    console.log(`watch it with: fogline deploy status ${d.model} --watch`);
  });

  withAdminTarget(
    deploy
      .command('status')
      .argument('[model]', "the model's newest deployment (default: the newest of any model)")
      .description('per edge: stage, desired version, state, a progress bar while downloading, why it failed')
      .option('--id <deployment>', 'a deployment id instead of the newest')
      .option('--watch', 'redraw until the deployment is done, failed or rolled back')
      .option(
        '--interval-ms <ms>',
        'time between redraws with --watch',
        parsePositiveInt('--interval-ms'),
        1_000,
      ),
  ).action(async (model: string | undefined, _flags: StatusFlags, cmd: Command) => {
    // `deploy` has the same target flags: commander gives it those after `status`, so merge them.
    const flags = cmd.optsWithGlobals<StatusFlags>();
    const client = await adminClient(flags);
    const id = flags.id ?? (await newest(client, model)).id;
    for (;;) {
      const d = await client.deployment(id);
      if (flags.json) console.log(JSON.stringify(d, null, flags.watch ? undefined : 2));
      else console.log(`${flags.watch ? '\n' : ''}${formatDeployment(d)}`);
      if (!flags.watch || TERMINAL.has(d.state)) return;
      await new Promise((r) => setTimeout(r, flags.intervalMs));
    }
  });

  withAdminTarget(
    deploy
      .command('rollback')
      .argument('<model>', 'the model whose newest deployment to roll back')
      .description(
        'roll the newest deployment of a model back: the edges that moved get their previous version (a new deployment); the old one is marked rolled_back',
      )
      .option('--id <deployment>', 'a deployment id instead of the newest'),
  ).action(async (model: string, _flags: unknown, cmd: Command) => {
    const flags = cmd.optsWithGlobals<AdminTargetFlags & { id?: string }>();
    const client = await adminClient(flags);
    const id = flags.id ?? (await newest(client, model, true)).id;
    const answer = await client.rollbackDeployment(id);
    if (flags.json) return void console.log(JSON.stringify(answer, null, 2));
    console.log(`${id}: rolled back (${answer.rolledBack.reason ?? ''})`);
    for (const r of answer.rollbacks)
      console.log(
        `  ${r.id}: ${r.model}@${r.version} to ${r.edgesSelector === 'all' ? 'all' : r.edgesSelector.join(', ')}`,
      );
  });
}

/** The newest deployment (of `model`); for a rollback, the newest that is not itself a rollback or rolled back. */
async function newest(
  client: Awaited<ReturnType<typeof adminClient>>,
  model: string | undefined,
  toRollBack = false,
): Promise<DeploymentView> {
  const list = await client.deployments(model);
  const found = toRollBack
    ? list.find((d) => d.state !== 'rolled_back' && !d.reason?.startsWith('rollback of '))
    : list[0];
  if (!found)
    throw new FoglineError(
      'NOT_FOUND',
      `no deployment${model ? ` of ${model}` : ''}${toRollBack ? ' to roll back' : ''}`,
    );
  return found;
}

/** `[#####-----]  50 %  1.2 / 2.4 MB` from the edge's received and total bytes. */
export function progressBar(received: number, total: number, width = 20): string {
  const share = total > 0 ? Math.min(1, received / total) : 0;
  const full = Math.round(share * width);
  const mb = (b: number) => (b / 1e6).toFixed(1);
  return `[${'#'.repeat(full)}${'-'.repeat(width - full)}] ${String(Math.floor(share * 100)).padStart(3)} % ${mb(received)}/${mb(total)} MB`;
}

function edgeRow(d: DeploymentView, e: DeploymentEdgeView): string[] {
  const progress =
    e.state === 'downloading' && e.totalBytes ? progressBar(e.receivedBytes ?? 0, e.totalBytes) : '';
  const gate = e.gate ? `gate ${e.gate.verdict} (${e.gate.paired} paired)` : '';
  const why = [progress, e.failure ?? '', gate].filter(Boolean).join('  ');
  return [e.edge, e.stage, desiredOf(d, e), e.state, why];
}

/** What the edge was asked to run: this deployment, or why not yet (or no more: once it ended). */
export function desiredOf(
  d: Pick<DeploymentView, 'model' | 'version' | 'state'>,
  e: Pick<DeploymentEdgeView, 'sent'>,
): string {
  if (e.sent) return `${d.model}@${d.version}`;
  return d.state === 'failed' || d.state === 'rolled_back' ? '(not sent)' : '(waiting)';
}

export function formatDeployment(d: DeploymentView): string {
  const head = `deployment ${d.id}: ${d.model}@${d.version}  ${d.state}${d.reason ? ` (${d.reason})` : ''}`;
  const edges = d.edges ?? [];
  return `${head}\n${formatTable(
    ['edge', 'stage', 'desired', 'state', 'progress / why'],
    edges.map((e) => edgeRow(d, e)),
  )}`;
}
