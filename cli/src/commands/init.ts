/** `fogline init <dir>`: a model repository for a cascade from three ONNX files (docs/model-repository.md). */
import { readFile } from 'node:fs/promises';
import { FoglineError, OUTPUT_KINDS, type OutputKind } from '@fogline/shared';
import {
  checkModelRepository,
  planModelRepository,
  writeModelRepository,
} from '@fogline/shared/model-repository';
import { type Command, Option } from 'commander';
import { formatRepositoryCheck } from './models-check.ts';

interface InitFlags {
  device: string;
  edge: string;
  cloud: string;
  labels?: string;
  labelsFile?: string;
  name?: string;
  outputKind?: OutputKind;
  scale?: number;
  mean?: number[];
  std?: number[];
  force?: boolean;
}

/** `--mean 0.5,0.5,0.5`: one number or one per channel. */
function numberList(flag: string) {
  return (text: string): number[] => {
    const values = text.split(',').map((v) => Number(v.trim()));
    if (values.length === 0 || values.some((v) => text.trim() === '' || !Number.isFinite(v))) {
      throw new FoglineError('INVALID_ARG', `${flag} must be numbers separated by commas, got "${text}"`);
    }
    return values;
  };
}

export function registerInit(program: Command): void {
  program
    .command('init')
    .argument('<dir>', 'the model repository to create (or add the three models to)')
    .description(
      'scaffold a model repository for a cascade from three ONNX files: configs read from their inputs and outputs, then checked',
    )
    .requiredOption('--device <a.onnx>', 'the device (smallest) model')
    .requiredOption('--edge <b.onnx>', 'the edge model')
    .requiredOption('--cloud <c.onnx>', 'the cloud (largest) model')
    .option('--labels <a,b,c>', 'class names by index, comma-separated')
    .option('--labels-file <file>', 'class names by index, one per line')
    .option(
      '--name <prefix>',
      'name the models <prefix>-tiny, <prefix>-mid, <prefix>-large (default: after the files)',
    )
    .addOption(
      new Option(
        '--output-kind <kind>',
        "what every model's outputs[0] holds (default: seen per model by running it: probabilities when rows sum to 1, else logits)",
      ).choices([...OUTPUT_KINDS]),
    )
    .option(
      '--scale <x>',
      'image preprocessing: multiplies each 0–255 pixel (default 1/255; 1 for integer inputs)',
      (v) => numberList('--scale')(v)[0]!,
    )
    .option(
      '--mean <m>',
      'image preprocessing: mean subtracted after scaling, one number or one per channel (default 0)',
      numberList('--mean'),
    )
    .option(
      '--std <s>',
      'image preprocessing: std divided by after the mean, one number or one per channel (default 1)',
      numberList('--std'),
    )
    .option('--force', 'replace model directories that already exist')
    .action(async (dir: string, flags: InitFlags) => runInit(dir, flags));
}

async function runInit(dir: string, flags: InitFlags): Promise<void> {
  const labelled = await readLabels(flags);
  const plan = await planModelRepository({
    files: { device: flags.device, edge: flags.edge, cloud: flags.cloud },
    ...(flags.name !== undefined ? { prefix: flags.name } : {}),
    ...labelled,
    ...(flags.outputKind ? { outputKind: flags.outputKind } : {}),
    preprocessing: {
      ...(flags.scale !== undefined && { scale: flags.scale }),
      ...(flags.mean !== undefined && { mean: flags.mean }),
      ...(flags.std !== undefined && { std: flags.std }),
    },
  });
  await writeModelRepository(dir, plan, flags.force);
  for (const m of plan.models)
    console.log(`wrote ${dir}/${m.name}/config.json and 1/model.onnx (${m.tier}, from ${m.source})`);
  console.log(plan.notes.map((n) => `note: ${n}`).join('\n'));
  const [device, edge, cloud] = plan.models.map((m) => m.name) as [string, string, string];
  const check = await checkModelRepository(dir, { device, edge, cloud });
  console.log(`\n${formatRepositoryCheck(check)}`);
  if (!check.ok) {
    process.exitCode = 1;
    return;
  }
  console.log(`
next steps:
  1. check the models see your labelled data as training did (a folder of class folders of
     images, or a .npy pair; docs/data.md): accuracies far below training's mean the
     preprocessing in the configs is not the models':
     fogline models report --models ${dir} --data <test>
  2. quantize the edge model into the repository (adds ${edge}-int8, which cascades then prefer):
     fogline quantize ${dir}/${edge}/1/model.onnx --into ${dir} --calibration-data <val>
  3. fit the routing thresholds of the cascade:
     fogline calibrate --models ${dir} --data <val> --eval-data <test>
  4. check, then run the three tiers on your data:
     fogline models check --models ${dir}
     fogline up --models ${dir} --data <test>
the whole walk: docs/your-models.md`);
}

async function readLabels(flags: InitFlags): Promise<{ labels?: string[]; labelsSource?: string }> {
  if (flags.labels !== undefined && flags.labelsFile !== undefined) {
    throw new FoglineError('INVALID_ARG', 'pass --labels or --labels-file, not both');
  }
  if (flags.labels !== undefined) {
    return { labels: flags.labels.split(',').map((l) => l.trim()), labelsSource: '--labels' };
  }
  if (flags.labelsFile === undefined) return {};
  let text: string;
  try {
    text = await readFile(flags.labelsFile, 'utf8');
  } catch (cause) {
    throw new FoglineError('NOT_FOUND', `--labels-file ${flags.labelsFile}: cannot read it`, { cause });
  }
  const labels = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  return { labels, labelsSource: flags.labelsFile };
}
