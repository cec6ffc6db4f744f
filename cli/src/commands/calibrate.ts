import { readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { FoglineError, resolvePolicy } from '@fogline/shared';
import { DEFAULT_MODELS_DIR, MODEL_REPORT_FILES } from '@fogline/shared/model-repository';
import {
  type CalibrationReport,
  type CascadePolicy,
  calibrateCascade,
  calibrationReportJson,
  describeObjective,
  driftReferenceOf,
  formatStage,
  type Minimize,
  type Objective,
  parseAccuracyTarget,
  TIER_ROLES,
  type TierModel,
  type TierRole,
  targetOf,
  writeCalibratedConfig,
  writeCalibrationReport,
} from '@fogline/toolchain';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { cascadeOf, isBuiltInRepository } from '../cascade-flags.ts';
import { datasetProgress, type ProgressReporter, readDataset } from '../dataset-progress.ts';
import { parsePositiveInt } from '../flags.ts';
import { formatTable } from '../format.ts';

interface CalibrateFlags {
  models: string;
  deviceModel?: string;
  edgeModel?: string;
  cloudModel?: string;
  data: string;
  evalData: string;
  strict?: boolean;
  target?: string;
  maxCloudShare?: number;
  maxMeanLatencyMs?: number;
  minimize: Minimize;
  rttDeviceEdgeMs: number;
  rttEdgeCloudMs: number;
  deviceLatencyMs?: number;
  edgeLatencyMs?: number;
  cloudLatencyMs?: number;
  latencyRuns: number;
  report: string;
  dryRun?: boolean;
  driftOnly?: boolean;
}

function nonNegative(flag: string, max = Number.POSITIVE_INFINITY): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0 || n > max)
      throw new InvalidArgumentError(`${flag} must be a number in [0, ${max}], got "${value}"`);
    return n;
  };
}

export function registerCalibrate(program: Command): void {
  program
    .command('calibrate')
    .description(
      'fit the device and edge routing thresholds of a 3-tier cascade to a target, report the frontier',
    )
    .addOption(
      new Option('--models <repo>', 'the model repository of the cascade').default(
        DEFAULT_MODELS_DIR,
        '<repo>/models',
      ),
    )
    .option('--device-model <name>', 'device model (default: the only device model of the repository)')
    .option(
      '--edge-model <name>',
      'edge model (default: the only edge model, else the one named *-int8; digits: digits-mid)',
    )
    .option('--cloud-model <name>', 'cloud model (default: the only cloud model of the repository)')
    .option(
      '--data <dataset>',
      'labelled samples to fit on: a digits split, a folder of class folders of images, .npy pair or .json (docs/data.md)',
      'calibration',
    )
    .option('--eval-data <dataset>', 'held-out labelled samples to evaluate the chosen policy on', 'test')
    .option('--strict', 'stop at the first bad file of a dataset instead of skipping it')
    .option(
      '--target <t>',
      'accuracy>=cloud-<x>pp | accuracy>=cloud | accuracy>=<fraction> (default accuracy>=cloud-0.2pp)',
    )
    .option(
      '--max-cloud-share <f>',
      'at most this share of inputs reaches the cloud',
      nonNegative('--max-cloud-share', 1),
    )
    .option(
      '--max-mean-latency-ms <ms>',
      'expected latency per input at most this',
      nonNegative('--max-mean-latency-ms'),
    )
    .addOption(
      new Option('--minimize <what>', 'what a --target minimises: tier-to-tier forwards, or expected latency')
        .choices(['escalations', 'latency'])
        .default('escalations'),
    )
    .option(
      '--rtt-device-edge-ms <ms>',
      'network round trip device ↔ edge (LAN, MQTT)',
      nonNegative('--rtt-device-edge-ms'),
      2,
    )
    .option(
      '--rtt-edge-cloud-ms <ms>',
      'network round trip edge ↔ cloud (WAN, HTTP)',
      nonNegative('--rtt-edge-cloud-ms'),
      30,
    )
    .option(
      '--device-latency-ms <ms>',
      'device compute per input instead of measuring it here',
      nonNegative('--device-latency-ms'),
    )
    .option(
      '--edge-latency-ms <ms>',
      'edge compute per input instead of measuring it here',
      nonNegative('--edge-latency-ms'),
    )
    .option(
      '--cloud-latency-ms <ms>',
      'cloud compute per input instead of measuring it here',
      nonNegative('--cloud-latency-ms'),
    )
    .option(
      '--latency-runs <n>',
      'batch-1 runs per tier for the latency median',
      parsePositiveInt('--latency-runs'),
      200,
    )
    .option(
      '--report <stem>',
      'write <stem>.md, <stem>.svg and <stem>.json (the JSON also as calibration.json beside each config written)',
      'bench/reports/calibrate',
    )
    .option('--dry-run', 'do not write the routing policy into the model configs')
    .option(
      '--drift-only',
      "keep the routing thresholds the configs have; write only the drift reference and the controller's baseline, measured for those thresholds",
    )
    .action(async (flags: CalibrateFlags) => runCalibrate(flags, commandLine(flags)));
}

/** The built-in digits cascade calibrates fp32 digits-mid unless told otherwise (the int8 edge is a choice). */
const DIGITS_CASCADE = { device: 'digits-tiny', edge: 'digits-mid', cloud: 'digits-large' } as const;

/** The command as it could be typed again (for the report header). */
function commandLine(flags: CalibrateFlags): string {
  const parts = ['fogline calibrate'];
  // The built-in repository is the default: a committed report names no machine's paths.
  if (!isBuiltInRepository(flags.models)) parts.push(`--models ${flags.models}`);
  for (const [flag, v] of [
    ['--device-model', flags.deviceModel],
    ['--edge-model', flags.edgeModel],
    ['--cloud-model', flags.cloudModel],
  ] as const) {
    if (v !== undefined) parts.push(`${flag} ${v}`);
  }
  parts.push(`--data ${flags.data}`, `--eval-data ${flags.evalData}`);
  if (flags.target) parts.push(`--target '${flags.target}'`);
  if (flags.minimize !== 'escalations') parts.push(`--minimize ${flags.minimize}`);
  if (flags.maxCloudShare !== undefined) parts.push(`--max-cloud-share ${flags.maxCloudShare}`);
  if (flags.maxMeanLatencyMs !== undefined) parts.push(`--max-mean-latency-ms ${flags.maxMeanLatencyMs}`);
  parts.push(`--rtt-device-edge-ms ${flags.rttDeviceEdgeMs}`, `--rtt-edge-cloud-ms ${flags.rttEdgeCloudMs}`);
  for (const [flag, v] of [
    ['--device-latency-ms', flags.deviceLatencyMs],
    ['--edge-latency-ms', flags.edgeLatencyMs],
    ['--cloud-latency-ms', flags.cloudLatencyMs],
  ] as const) {
    if (v !== undefined) parts.push(`${flag} ${v}`);
  }
  if (flags.driftOnly) parts.push('--drift-only');
  return parts.join(' ');
}

function objectiveOf(flags: CalibrateFlags): Objective {
  const none =
    flags.target === undefined && flags.maxCloudShare === undefined && flags.maxMeanLatencyMs === undefined;
  const target = flags.target ?? (none ? 'accuracy>=cloud-0.2pp' : undefined);
  return {
    ...(target ? { accuracy: parseAccuracyTarget(target) } : {}),
    minimize: flags.minimize,
    ...(flags.maxCloudShare !== undefined ? { maxCloudShare: flags.maxCloudShare } : {}),
    ...(flags.maxMeanLatencyMs !== undefined ? { maxMeanLatencyMs: flags.maxMeanLatencyMs } : {}),
  };
}

async function runCalibrate(flags: CalibrateFlags, command: string): Promise<void> {
  const objective = objectiveOf(flags);
  const cascade = await cascadeOf(flags, DIGITS_CASCADE);
  const entries = TIER_ROLES.map((role) => cascade[role]);
  const models = {} as Record<TierRole, TierModel>;
  for (const role of TIER_ROLES) {
    const entry = cascade[role];
    models[role] = { name: entry.name, bytes: await readFile(entry.modelPath()), config: entry.config };
  }
  // Upper tiers take the device's prepared input: the device config prepares the samples.
  const target = targetOf(cascade.device.config, join(cascade.device.dir, 'config.json'));
  const strict = flags.strict === true;
  const calibration = await readDataset(flags.data, target, { strict });
  const evaluation = await readDataset(flags.evalData, target, { strict });
  const network = { deviceEdgeRttMs: flags.rttDeviceEdgeMs, edgeCloudRttMs: flags.rttEdgeCloudMs };
  const latencyMs = {
    ...(flags.deviceLatencyMs !== undefined ? { device: flags.deviceLatencyMs } : {}),
    ...(flags.edgeLatencyMs !== undefined ? { edge: flags.edgeLatencyMs } : {}),
    ...(flags.cloudLatencyMs !== undefined ? { cloud: flags.cloudLatencyMs } : {}),
  };
  let progressOf: { what: string; reporter: ProgressReporter } | undefined;
  const result = await calibrateCascade(models, calibration, evaluation, {
    ...(flags.driftOnly ? { policy: configuredPolicy(cascade) } : {}),
    network,
    objective,
    latencyRuns: flags.latencyRuns,
    latencyMs,
    onStep: (m) => process.stderr.write(`${m}\n`),
    onProgress: (what, p) => {
      if (what !== progressOf?.what) {
        progressOf?.reporter.stop();
        progressOf = { what, reporter: datasetProgress('  samples') };
      }
      progressOf.reporter.onProgress(p);
    },
  }).finally(() => progressOf?.reporter.stop());

  const written: string[] = [];
  const modelDirs: string[] = [];
  // The device's score histogram on the calibration split, in the device's config and the edge's:
  // the edge compares the windows its devices send against it (docs/field-accuracy.md "Drift").
  const driftScore = result.chosen?.policy.device.score;
  const drift =
    driftScore === undefined
      ? undefined
      : {
          ...driftReferenceOf(result.calibrationScores.device[driftScore], driftScore, {
            name: cascade.device.name,
            version: cascade.device.latestVersion,
          }),
          // d0 and the weak-reference baselines, for the controller (docs/field-accuracy.md).
          ...(result.baseline ? { baseline: result.baseline } : {}),
        };
  // The edge's copy also holds the cloud model's own score histogram on the calibration split (of
  // the kind the cloud scores its audit records with): the reference-weak check compares with it.
  const cloudScore = cascade.cloud.config.routing.score;
  const edgeDrift = drift?.baseline && {
    ...drift,
    baseline: {
      ...drift.baseline,
      cloudScores: driftReferenceOf(result.calibrationScores.cloud[cloudScore], cloudScore, {
        name: cascade.cloud.name,
        version: cascade.cloud.latestVersion,
      }),
    },
  };
  if (result.chosen && !flags.dryRun) {
    for (const role of ['device', 'edge'] as const) {
      const file = join(entries[TIER_ROLES.indexOf(role)]!.dir, 'config.json');
      const block = role === 'edge' ? (edgeDrift ?? drift) : drift;
      await writeCalibratedConfig(file, {
        ...(flags.driftOnly ? {} : { routing: result.chosen.policy[role] }),
        ...(block ? { drift: block } : {}),
      });
      written.push(file);
      modelDirs.push(entries[TIER_ROLES.indexOf(role)]!.dir);
    }
  }
  const report: CalibrationReport = {
    command,
    split: calibration.source,
    evalSplit: evaluation.source,
    network,
    objective: describeObjective(objective),
    tiers: result.tiers.map((t) => ({ ...t, version: cascade[t.role].latestVersion })),
    policiesSwept: result.policiesSwept,
    rows: result.rows,
    perScoreKind: result.perScoreKind,
    frontier: result.frontier,
    // Relative to where the command ran: a committed report names no machine's paths.
    written: written.map((file) => relative(process.cwd(), file)),
    ...(drift ? { drift } : {}),
  };
  await writeCalibrationReport(flags.report, report);
  // Beside each config it wrote: the cloud shows it on the dashboard's Models page.
  for (const dir of modelDirs)
    await writeFile(join(dir, MODEL_REPORT_FILES.calibration), calibrationReportJson(report));
  printSummary(report, result.chosen?.policy, flags.driftOnly === true);
  if (drift && written.length > 0) {
    console.log(
      `drift reference written with it: ${cascade.device.name} v${drift.version} ${drift.score} on ${drift.reference.length} bins of ${drift.records} samples`,
    );
    const cloud = edgeDrift?.baseline.cloudScores;
    if (cloud) {
      console.log(
        `cloud score reference in the edge's config: ${cloud.model} v${cloud.version} ${cloud.score} on ${cloud.reference.length} bins`,
      );
    }
  }
  if (!result.chosen) {
    throw new FoglineError(
      'INVALID_ARG',
      `no policy meets "${report.objective}" on ${calibration.source}; routing not written (see ${flags.report}.md)`,
    );
  }
}

/** The thresholds the device and edge configs hold now (null: the uncalibrated ones the tiers apply). */
function configuredPolicy(cascade: Awaited<ReturnType<typeof cascadeOf>>): CascadePolicy {
  const of = (role: 'device' | 'edge') =>
    resolvePolicy(cascade[role].config.routing, (field, problem) => {
      throw new FoglineError('INVALID_ARG', `${cascade[role].name} config.json: routing.${field} ${problem}`);
    });
  return { device: of('device'), edge: of('edge') };
}

function printSummary(
  r: CalibrationReport,
  chosen: { device: { score: string; threshold: number } } | undefined,
  driftOnly: boolean,
): void {
  const pct = (v: number) => (v * 100).toFixed(2);
  console.log(`objective: ${r.objective}`);
  console.log(
    formatTable(
      ['tier', 'model', 'cal acc %', 'test acc %', 'latency ms'],
      r.tiers.map((t) => [t.role, t.model, pct(t.accuracy), pct(t.evalAccuracy), t.latencyMs.toFixed(3)]),
    ),
  );
  console.log('');
  console.log(
    formatTable(
      ['router', 'cal acc %', 'cal d/e/c %', 'cal ms', 'test acc %', 'test d/e/c %', 'test ms'],
      r.rows.map((row) => {
        const s = (o: typeof row.calibration) =>
          `${pct(o.share.device)}/${pct(o.share.edge)}/${pct(o.share.cloud)}`;
        return [
          row.name,
          pct(row.calibration.accuracy),
          s(row.calibration),
          row.calibration.expectedLatencyMs.toFixed(2),
          pct(row.evaluation.accuracy),
          s(row.evaluation),
          row.evaluation.expectedLatencyMs.toFixed(2),
        ];
      }),
    ),
  );
  const policy = r.rows.find((row) => row.name === 'chosen')?.policy;
  if (chosen && policy)
    console.log(
      `\n${driftOnly ? 'kept' : 'chosen'}: device ${formatStage(policy.device)}, edge ${formatStage(policy.edge)}`,
    );
  if (r.written.length > 0)
    console.log(`${driftOnly ? 'drift reference' : 'routing'} written to ${r.written.join(', ')}`);
}
