import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FoglineError, isFoglineError } from '@fogline/shared';
import {
  DEFAULT_MODELS_DIR,
  loadModelRepository,
  type ModelEntry,
  validateModelFile,
} from '@fogline/shared/model-repository';
import { type Dataset, type Evaluation, evaluateModel, targetOf } from '@fogline/toolchain';
import { type Command, Option } from 'commander';
import { datasetProgress, readDataset } from '../dataset-progress.ts';
import { parsePositiveInt } from '../flags.ts';
import { formatTable } from '../format.ts';
import { registerModelsCheck } from './models-check.ts';
import { registerModelsStore } from './models-store.ts';

const modelsDirOption = () =>
  new Option('--models <dir>', 'model repository directory').default(DEFAULT_MODELS_DIR, '<repo>/models');

export function registerModels(program: Command): void {
  const models = program
    .command('models')
    .description("inspect and evaluate the model repository; push models to the cloud's model store");
  registerModelsCheck(models);
  registerModelsStore(models);

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
    .description('evaluate every model in the repository on a dataset and print the zoo table')
    .addOption(dataOption())
    .option('--strict', 'stop at the first bad file of the dataset instead of skipping it')
    .addOption(modelsDirOption())
    .option('--json', 'print JSON')
    .action(reportZoo);

  models
    .command('eval')
    .argument('<name>', 'a model of the repository (see `fogline models list`)')
    .description('run a model over a dataset and report its accuracy, overall and per class')
    .addOption(dataOption())
    .option('--strict', 'stop at the first bad file of the dataset instead of skipping it')
    .option('--version <n>', 'model version (default: latest)', parsePositiveInt('--version'))
    .addOption(modelsDirOption())
    .option('--json', 'print JSON')
    .action(evalModel);
}

const dataOption = () =>
  new Option(
    '--data <dataset>',
    'labelled samples: a digits split (test, calibration, train), a folder of class folders of images, a folder with inputs.npy + labels.npy, inputs.npy,labels.npy, or a .json file (docs/data.md)',
  ).default('test');

interface DataFlags {
  data: string;
  strict?: boolean;
  models: string;
  json?: boolean;
}

const pct = (v: number | null) => (v === null ? '–' : `${(v * 100).toFixed(2)} %`);

/** The dataset prepared for one model (the same one for models that prepare inputs alike). */
function datasetReader(flags: DataFlags): (entry: ModelEntry) => Promise<Dataset> {
  const cache = new Map<string, Promise<Dataset>>();
  return (entry) => {
    const c = entry.config;
    const key = JSON.stringify([c.inputs[0]!.shape, c.preprocessing, c.labels, c.outputs[0]!.shape.at(-1)]);
    let set = cache.get(key);
    if (!set) {
      const target = targetOf(c, join(entry.dir, 'config.json'));
      set = readDataset(flags.data, target, { strict: flags.strict === true, what: `reading ${flags.data}` });
      cache.set(key, set);
    }
    return set;
  };
}

async function evaluateEntry(entry: ModelEntry, version: number, set: Dataset): Promise<Evaluation> {
  await validateModelFile(entry, version);
  const progress = datasetProgress(`evaluating ${entry.name}`);
  try {
    return await evaluateModel(await readFile(entry.modelPath(version)), entry.name, entry.config, set, {
      onProgress: progress.onProgress,
    });
  } finally {
    progress.stop();
  }
}

async function evalModel(name: string, opts: DataFlags & { version?: number }): Promise<void> {
  const repo = await loadModelRepository(opts.models);
  const entry = repo.get(name);
  const version = opts.version ?? entry.latestVersion;
  const set = await datasetReader(opts)(entry);
  const started = performance.now();
  const e = await evaluateEntry(entry, version, set);
  const seconds = (performance.now() - started) / 1000;
  if (e.accuracy === null)
    throw new FoglineError('INVALID_ARG', `${set.source} has no labels; evaluation needs labelled samples`);
  const report = {
    model: name,
    version,
    data: set.source,
    count: e.count,
    correct: e.correct,
    accuracy: e.accuracy,
    perClass: e.perClass,
    skipped: set.skipped,
    seconds,
  };
  if (opts.json) return void console.log(JSON.stringify(report));
  console.log(
    `${name} v${version} on ${set.source}: ${pct(e.accuracy)} (${e.correct}/${e.count}) in ${seconds.toFixed(2)} s` +
      (set.skipped.length > 0 ? ` — ${set.skipped.length} file(s) skipped` : ''),
  );
  console.log(
    formatTable(
      ['class', 'samples', 'accuracy'],
      e.perClass.map((c) => [c.label, String(c.count), pct(c.accuracy)]),
    ),
  );
}

async function reportZoo(opts: DataFlags): Promise<void> {
  const repo = await loadModelRepository(opts.models);
  const read = datasetReader(opts);
  const rows = [];
  let source = opts.data;
  let count = 0;
  for (const entry of repo.list()) {
    let accuracy: number | null = null;
    let problem: string | undefined;
    try {
      const set = await read(entry);
      const e = await evaluateEntry(entry, entry.latestVersion, set);
      ({ accuracy } = e);
      ({ source, count } = set);
    } catch (err) {
      if (!isFoglineError(err) || opts.strict) throw err;
      problem = err.message;
      process.stderr.write(`${entry.name}: ${problem}\n`);
    }
    rows.push({ ...describe(entry), accuracy, ...(problem ? { problem } : {}) });
  }
  // A model that does not fit the data is one row of the table; when none does (a dataset that
  // cannot be read, another family's data), there is no report to give.
  if (rows.length > 0 && rows.every((r) => r.problem !== undefined))
    throw new FoglineError('INVALID_ARG', `no model of the repository could be evaluated on ${opts.data}`);
  if (opts.json) return void console.log(JSON.stringify(rows, null, 2));
  console.log(`fogline model zoo — accuracy on ${source} (${count} samples)\n`);
  console.log(
    formatTable(
      ['model', 'tier', 'version', 'accuracy', 'size', 'routing'],
      rows.map((r) => [
        r.name,
        r.tier,
        String(r.versions.at(-1)),
        r.problem ? 'does not fit the data' : pct(r.accuracy),
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
