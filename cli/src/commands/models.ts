import { statSync } from 'node:fs';
import { accuracyOf, predictSplit } from '@fogline/shared/digits';
import {
  DEFAULT_MODELS_DIR,
  loadModelRepository,
  type ModelEntry,
  validateModelFile,
} from '@fogline/shared/model-repository';
import { type Command, Option } from 'commander';
import { parsePositiveInt } from '../flags.ts';
import { formatTable } from '../format.ts';
import { registerModelsCheck } from './models-check.ts';

const modelsDirOption = () =>
  new Option('--models <dir>', 'model repository directory').default(DEFAULT_MODELS_DIR, '<repo>/models');

export function registerModels(program: Command): void {
  const models = program.command('models').description('inspect and evaluate the model repository');
  registerModelsCheck(models);

  models
    .command('list')
    .description('list the models in the repository with their tier, versions, shapes and size')
    .addOption(modelsDirOption())
    .option('--json', 'print JSON instead of a table')
    .action(async (opts: { models: string; json?: boolean }) => {
      const repo = await loadModelRepository(opts.models);
      const rows = repo.list().map(describe);
      if (opts.json) return void console.log(JSON.stringify(rows, null, 2));
      console.log(
        formatTable(
          ['model', 'tier', 'versions', 'input', 'output', 'size', 'routing'],
          rows.map((r) => [
            r.name,
            r.tier,
            r.versions.join(','),
            r.input,
            r.output,
            `${(r.bytes / 1024).toFixed(1)} KB`,
            r.routing,
          ]),
        ),
      );
    });

  models
    .command('report')
    .description('evaluate every model in the repository on a digits split and print the zoo table')
    .addOption(
      new Option('--split <split>', 'which split to evaluate')
        .choices(['test', 'calibration'])
        .default('test'),
    )
    .addOption(modelsDirOption())
    .option('--json', 'print JSON')
    .action(reportZoo);

  models
    .command('eval')
    .argument('<name>', 'a model of the repository (see `fogline models list`)')
    .description('run a model over a digits split and report its accuracy')
    .addOption(
      new Option('--split <split>', 'which split to evaluate')
        .choices(['test', 'calibration'])
        .default('test'),
    )
    .option('--version <n>', 'model version (default: latest)', parsePositiveInt('--version'))
    .addOption(modelsDirOption())
    .option('--json', 'print JSON')
    .action(
      async (
        name: string,
        opts: { split: 'test' | 'calibration'; version?: number; models: string; json?: boolean },
      ) => {
        const repo = await loadModelRepository(opts.models);
        const entry = repo.get(name);
        const version = opts.version ?? entry.latestVersion;
        await validateModelFile(entry, version);
        const started = performance.now();
        const result = accuracyOf(await predictSplit(entry.modelPath(version), opts.split));
        const seconds = (performance.now() - started) / 1000;
        const report = { model: name, version, ...result, seconds };
        if (opts.json) return void console.log(JSON.stringify(report));
        console.log(
          `${name} v${version} on the ${opts.split} split: ${(result.accuracy * 100).toFixed(2)} % ` +
            `(${result.correct}/${result.count}) in ${seconds.toFixed(2)} s`,
        );
        console.log(
          formatTable(
            ['digit', ...result.perClass.map((_, k) => String(k))],
            [['accuracy %', ...result.perClass.map((a) => (a * 100).toFixed(1))]],
          ),
        );
      },
    );
}

async function reportZoo(opts: {
  models: string;
  split: 'test' | 'calibration';
  json?: boolean;
}): Promise<void> {
  const repo = await loadModelRepository(opts.models);
  const rows = [];
  for (const entry of repo.list()) {
    await validateModelFile(entry);
    const result = accuracyOf(await predictSplit(entry.modelPath(), opts.split));
    rows.push({ ...describe(entry), accuracy: result.accuracy, count: result.count });
  }
  if (opts.json) return void console.log(JSON.stringify(rows, null, 2));
  console.log(`fogline model zoo — accuracy on the ${opts.split} split (${rows[0]?.count ?? 0} digits)\n`);
  console.log(
    formatTable(
      ['model', 'tier', 'version', 'accuracy', 'size', 'routing'],
      rows.map((r) => [
        r.name,
        r.tier,
        String(r.versions.at(-1)),
        `${(r.accuracy * 100).toFixed(2)} %`,
        `${(r.bytes / 1024).toFixed(1)} KB`,
        r.routing,
      ]),
    ),
  );
}

export interface ModelSummary {
  name: string;
  tier: string;
  versions: readonly number[];
  input: string;
  output: string;
  bytes: number;
  routing: string;
}

export function describe(entry: ModelEntry): ModelSummary {
  const spec = (t: { name: string; shape: readonly number[] }) => `${t.name}[${t.shape.join(',')}]`;
  const { routing } = entry.config;
  return {
    name: entry.name,
    tier: entry.config.tier,
    versions: entry.versions,
    input: entry.config.inputs.map(spec).join(' '),
    output: entry.config.outputs.map(spec).join(' '),
    bytes: statSync(entry.modelPath()).size,
    routing:
      routing.threshold === null
        ? `${routing.score} (uncalibrated)`
        : `${routing.score} >= ${routing.threshold}`,
  };
}
