import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { FoglineError, isFoglineError } from '@fogline/shared';
import {
  loadModelEntry,
  MODEL_REPORT_FILES,
  quantizedModelTarget,
  writeQuantizedModel,
} from '@fogline/shared/model-repository';
import {
  compareLatency,
  compareOnSets,
  type Dataset,
  type DatasetTarget,
  digitsSplitOf,
  environment,
  inspectModel,
  type QuantizeReport,
  quantizeModel,
  quantizeReportMarkdown,
  targetOf,
  targetOfInput,
} from '@fogline/toolchain';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { datasetProgress, readDataset } from '../dataset-progress.ts';
import { formatTable } from '../format.ts';

interface QuantizeFlags {
  mode: 'static' | 'dynamic';
  calibrationData?: string;
  strict?: boolean;
  method: 'minmax' | 'percentile';
  percentile: number;
  perChannel: boolean;
  reduceRange: boolean;
  evalData?: string[];
  report?: string;
  latency: boolean;
  into?: string;
}

function parsePercentile(value: string): number {
  const p = Number(value);
  if (!(p > 50 && p <= 100))
    throw new InvalidArgumentError(`--percentile must be in (50, 100], got "${value}"`);
  return p;
}

export function registerQuantize(program: Command): void {
  program
    .command('quantize')
    .argument('<in>', 'the fp32 ONNX model to quantize')
    .argument('[out]', 'where to write the int8 ONNX model (or --into <repo>)')
    .description(
      'quantize an fp32 ONNX model to int8 (static QDQ or dynamic), check it in onnxruntime and report',
    )
    .addOption(
      new Option(
        '--mode <mode>',
        'static: QDQ with calibrated activations; dynamic: int8 MatMul/Gemm weights',
      )
        .choices(['static', 'dynamic'])
        .default('static'),
    )
    .option(
      '--calibration-data <dataset>',
      'samples to fit the activation ranges on: a digits split (calibration, train), a folder of class folders of images, a .npy pair, a .json or raw float32 file (docs/data.md); default: the digits calibration split',
    )
    .option('--strict', 'stop at the first bad file of a dataset instead of skipping it')
    .addOption(
      new Option('--method <method>', 'activation range estimator')
        .choices(['minmax', 'percentile'])
        .default('minmax'),
    )
    .option('--percentile <p>', 'kept percentile for --method percentile', parsePercentile, 99.99)
    .option('--per-channel', 'one weight scale per output channel', true)
    .option('--no-per-channel', 'one weight scale per tensor (opset ≥ 10 instead of 13)')
    .option('--reduce-range', '7-bit weights (±63): no u8×s8 saturation on x86 CPUs without VNNI', true)
    .option('--no-reduce-range', 'full 8-bit weights (±127), for arm64 or x86 with VNNI')
    .option(
      '--eval-data <dataset...>',
      'labelled datasets for the report (default: the digits test split when calibrating on digits)',
    )
    .option('--report <file>', 'write the report as JSON (<file>.json) and markdown (<file>.md)')
    .option('--no-latency', 'skip the latency comparison')
    .option(
      '--into <repo>',
      'instead of <out>: add the model <name>-int8 to a repository, config copied from <in>’s (<repo>/<name>/<v>/model.onnx, the report beside it as quantize.json)',
    )
    .action(async (input: string, output: string | undefined, flags: QuantizeFlags) =>
      runQuantize(input, output, flags),
    );
}

async function readModelFile(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (cause) {
    throw new FoglineError('NOT_FOUND', `cannot read model file ${path}`, { cause });
  }
}

async function runQuantize(input: string, out: string | undefined, flags: QuantizeFlags): Promise<void> {
  if ((out === undefined) === (flags.into === undefined)) {
    throw new FoglineError('INVALID_ARG', 'give either <out> or --into <repo> (one of them)');
  }
  const target = flags.into === undefined ? undefined : await quantizedModelTarget(input, flags.into);
  const output = target?.modelPath ?? (out as string);
  if (flags.calibrationData !== undefined && digitsSplitOf(flags.calibrationData) === 'test') {
    throw new FoglineError(
      'INVALID_ARG',
      '--calibration-data test would fit the ranges on the held-out test split; use calibration or train',
    );
  }
  const bytes = await readModelFile(input);
  const inspected = inspectModel(bytes, input);
  const dataTarget = await targetOfModelFile(input, inspected);
  const model = dataTarget.config;
  const explicit = flags.calibrationData !== undefined;
  const calibrationSpec = flags.calibrationData ?? 'calibration';
  const strict = flags.strict === true;
  let calibration: Dataset | undefined;
  try {
    calibration = await readDataset(calibrationSpec, dataTarget, { strict });
  } catch (err) {
    if (explicit || !isFoglineError(err)) throw err;
    if (flags.mode === 'static') {
      const hint = `${err.message}; pass --calibration-data <dataset> with samples of your model's input (see docs/data.md)`;
      throw new FoglineError(err.code, hint, { cause: err });
    }
    // Dynamic mode needs no calibration: the default digits split only feeds the report, if it fits.
  }

  const progress = datasetProgress('calibrating (batches)');
  const result = await quantizeModel(
    bytes,
    {
      mode: flags.mode,
      method: flags.method,
      percentile: flags.percentile,
      perChannel: flags.perChannel,
      reduceRange: flags.reduceRange,
      ...(calibration ? { calibration } : {}),
      onProgress: progress.onProgress,
    },
    input,
  ).finally(() => progress.stop());

  const evalSpecs =
    flags.evalData ?? (digitsSplitOf(calibrationSpec) !== undefined && calibration ? ['test'] : []);
  const evalSets = [...(calibration ? [calibration] : [])];
  for (const spec of evalSpecs) evalSets.push(await readDataset(spec, dataTarget, { strict }));
  const comparisons = await compareOnSets(bytes, result.bytes, model, evalSets);
  const latency =
    flags.latency && evalSets[0] ? await compareLatency(bytes, result.bytes, model, evalSets[0]) : [];

  if (target) await writeQuantizedModel(target, result.bytes, settingsOf(flags, calibration));
  else await writeFileMakingDir(output, result.bytes);
  const report: QuantizeReport = {
    input,
    output,
    settings: settingsOf(flags, calibration),
    fp32Bytes: bytes.byteLength,
    int8Bytes: result.bytes.byteLength,
    sizeRatio: result.bytes.byteLength / bytes.byteLength,
    quantized: result.quantized,
    skipped: result.skipped,
    activations: result.activations,
    runtimeOps: result.runtimeOps,
    comparisons,
    latency,
    environment: environment(),
  };
  const json = `${JSON.stringify(report, null, 2)}\n`;
  // A repository version keeps its report: the cloud shows it on the dashboard's Models page.
  if (target) await writeFile(join(dirname(target.modelPath), MODEL_REPORT_FILES.quantization), json);
  if (flags.report) {
    const stem = ['.json', '.md'].includes(extname(flags.report))
      ? flags.report.slice(0, -extname(flags.report).length)
      : flags.report;
    await writeFileMakingDir(`${stem}.json`, json);
    await writeFile(`${stem}.md`, quantizeReportMarkdown(report));
  }
  printSummary(report);
  if (target) {
    console.log(
      `model ${target.name} v${target.version} in ${flags.into} (config ${target.keepsConfig ? 'kept' : `from ${target.source.name}`}); check it: fogline models check --models ${flags.into}`,
    );
  }
}

/**
 * What the samples are prepared for: the config of a repository model (`<repo>/<name>/<v>/model.onnx`),
 * else the ONNX file's own input with the config defaults.
 */
async function targetOfModelFile(
  input: string,
  inspected: ReturnType<typeof inspectModel>,
): Promise<DatasetTarget> {
  const modelDir = dirname(dirname(input));
  const configFile = join(modelDir, 'config.json');
  if (/^[1-9]\d*$/.test(basename(dirname(input))) && existsSync(configFile)) {
    const entry = await loadModelEntry(dirname(modelDir), basename(modelDir));
    return targetOf(entry.config, configFile);
  }
  return targetOfInput(inspected.input.name, inspected.input.sampleDims, inspected.output, input);
}

function settingsOf(flags: QuantizeFlags, calibration: Dataset | undefined): string {
  const weights = `${flags.perChannel ? 'per-channel' : 'per-tensor'} symmetric int8 weights${flags.reduceRange ? ' (7-bit range)' : ''}`;
  if (flags.mode === 'dynamic') return `dynamic, ${weights}, activations quantized at run time`;
  const method = flags.method === 'percentile' ? `percentile ${flags.percentile}` : 'min-max';
  return `static QDQ, ${weights}, uint8 activations (${method} on ${calibration?.source})`;
}

const pct = (v: number | null): string => (v === null ? '-' : `${(v * 100).toFixed(2)} %`);

function printSummary(r: QuantizeReport): void {
  console.log(
    `wrote ${r.output}: ${r.int8Bytes} bytes = ${(r.sizeRatio * 100).toFixed(1)} % of ${basename(r.input)} (${r.settings})`,
  );
  console.log(
    `onnxruntime runs: ${Object.entries(r.runtimeOps)
      .map(([op, n]) => `${op}×${n}`)
      .join(' ')}`,
  );
  if (r.comparisons.length > 0) {
    console.log(
      formatTable(
        ['samples', 'n', 'fp32 acc', 'int8 acc', 'drop pp', 'top-1 agreement'],
        r.comparisons.map((c) => [
          c.source,
          String(c.count),
          pct(c.fp32Accuracy),
          pct(c.int8Accuracy),
          c.accuracyDropPp?.toFixed(2) ?? '-',
          pct(c.agreement),
        ]),
      ),
    );
  }
  if (r.latency.length > 0) {
    console.log(
      formatTable(
        ['batch', 'fp32 ms', 'int8 ms', 'int8/fp32'],
        r.latency.map((l) => [String(l.batch), l.fp32Ms.toFixed(3), l.int8Ms.toFixed(3), l.ratio.toFixed(2)]),
      ),
    );
  }
}

/** Writes `file`, making its folder first if missing, as `fogline calibrate --report` does. */
async function writeFileMakingDir(file: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, data);
}
