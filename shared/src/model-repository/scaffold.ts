/**
 * `fogline init`: a model repository for a cascade, scaffolded from three ONNX files
 * (docs/model-repository.md "fogline init"). Everything is read and checked before anything is
 * written: a bad file, tiers that disagree or labels that do not fit the classes write nothing.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { FoglineError } from '../core/errors.ts';
import { type OutputKind, parseModelConfig, type TensorSpec } from '../core/model-config.ts';
import { isValidName, NAME_RULE } from '../core/names.ts';
import { TIERS, type Tier } from '../core/routing/index.ts';
import { type OnnxSignature, readSignature } from './onnx-signature.ts';

/** Name suffix per tier when the models are named from a prefix (`--name`). */
export const TIER_SUFFIX: Readonly<Record<Tier, string>> = { device: 'tiny', edge: 'mid', cloud: 'large' };

/** Batching defaults per tier, as the digits zoo has them: devices run small batches at once. */
export const TIER_BATCHING: Readonly<
  Record<Tier, { max_batch_size: number; max_queue_delay_ms: number; preferred_batch_size: number[] }>
> = {
  device: { max_batch_size: 8, max_queue_delay_ms: 0, preferred_batch_size: [1, 4, 8] },
  edge: { max_batch_size: 64, max_queue_delay_ms: 2, preferred_batch_size: [16, 32, 64] },
  cloud: { max_batch_size: 64, max_queue_delay_ms: 2, preferred_batch_size: [16, 32, 64] },
};

export interface ScaffoldRequest {
  /** The ONNX file per tier. */
  readonly files: Readonly<Record<Tier, string>>;
  /** Models are named `<prefix>-tiny|-mid|-large`; without it, after the files (`a.onnx` → `a`). */
  readonly prefix?: string;
  /** Class names by index; without them `class0`…`classK-1`. */
  readonly labels?: readonly string[];
  /** Where the labels came from, for messages (`--labels`, a file name). */
  readonly labelsSource?: string;
  /** Overrides what `init` sees each model's outputs[0] hold (see OnnxSignature.outputKind). */
  readonly outputKind?: OutputKind;
  /** Written into each image input's preprocessing (how the models were trained); defaults otherwise. */
  readonly preprocessing?: Readonly<{ scale?: number; mean?: readonly number[]; std?: readonly number[] }>;
}

export interface ScaffoldModel {
  readonly tier: Tier;
  readonly name: string;
  readonly source: string;
  /** config.json as written (plain JSON, fields in the documented order). */
  readonly config: Record<string, unknown>;
}

export interface ScaffoldPlan {
  readonly models: readonly ScaffoldModel[];
  /** Things a user should know about the configs (defaults chosen for them). */
  readonly notes: readonly string[];
}

const fail = (message: string, details: Record<string, unknown> = {}): never => {
  throw new FoglineError('INVALID_ARG', message, { details });
};

/** Reads the three ONNX files and builds the three configs; writes nothing. */
export async function planModelRepository(req: ScaffoldRequest): Promise<ScaffoldPlan> {
  const notes: string[] = [];
  const names = modelNames(req);
  const signatures = {} as Record<Tier, OnnxSignature>;
  for (const tier of TIERS) signatures[tier] = await readSignature(req.files[tier], notes);

  const base = signatures.device;
  const sample = (s: TensorSpec) => `[${s.shape.slice(1).join(', ')}]`;
  for (const tier of ['edge', 'cloud'] as const) {
    const file = req.files[tier];
    const theirs = signatures[tier];
    const [input, baseInput] = [theirs.inputs[0]!, base.inputs[0]!];
    if (sample(input) !== sample(baseInput) || input.datatype !== baseInput.datatype) {
      fail(
        `${file}: inputs[0] "${input.name}" is ${input.datatype} ${sample(input)} but ${req.files.device}'s is ${baseInput.datatype} ${sample(baseInput)} (batch dim aside); a cascade's models take the same input`,
        { file, field: 'inputs[0]' },
      );
    }
    if (theirs.classes !== base.classes) {
      fail(
        `${file}: outputs[0] "${theirs.outputs[0]!.name}" has ${theirs.classes ?? 'an open number of'} classes but ${req.files.device}'s has ${base.classes ?? 'an open number of'}`,
        { file, field: 'outputs[0]' },
      );
    }
  }

  const classes = base.classes;
  let labels = req.labels ? [...req.labels] : undefined;
  const source = req.labelsSource ?? '--labels';
  if (labels) {
    const duplicate = labels.find((l, i) => labels!.indexOf(l) !== i);
    if (duplicate !== undefined) fail(`${source}: names "${duplicate}" twice`, { field: 'labels' });
    if (labels.some((l) => l.length === 0)) fail(`${source}: has an empty name`, { field: 'labels' });
    if (classes !== undefined && labels.length !== classes) {
      fail(`${source}: ${labels.length} names but the models' outputs[0] have ${classes} classes`, {
        field: 'labels',
      });
    }
  } else if (classes !== undefined) {
    labels = Array.from({ length: classes }, (_, k) => `class${k}`);
    notes.push(
      `labels: none given, so class0…class${classes - 1}; put your class names in each config's "labels"`,
    );
  } else {
    notes.push('labels: the models leave their class count open and no labels were given; "labels" is empty');
  }
  if (req.labels && classes === undefined) {
    notes.push(
      `labels: the models leave their class count open; check that they have ${req.labels.length} classes`,
    );
  }

  const models = TIERS.map((tier): ScaffoldModel => {
    const sig = signatures[tier];
    const batch = sig.inputs[0]!.shape[0]!;
    const batching =
      batch === 1
        ? { max_batch_size: 1, max_queue_delay_ms: 0, preferred_batch_size: [1] }
        : TIER_BATCHING[tier];
    const config: Record<string, unknown> = {
      name: names[tier],
      tier,
      platform: 'onnxruntime_onnx',
      description: `${tier} model scaffolded by fogline init from ${req.files[tier]}`,
      max_batch_size: batching.max_batch_size,
      inputs: sig.inputs,
      outputs: sig.outputs,
      output_kind: req.outputKind ?? sig.outputKind ?? 'logits',
      ...preprocessingFor(sig.inputs[0]!, req.preprocessing ?? {}, notes),
      dynamic_batching: {
        max_queue_delay_ms: batching.max_queue_delay_ms,
        max_queue_size: 1024,
        preferred_batch_size: batching.preferred_batch_size,
      },
      routing: { score: 'margin', threshold: null },
      labels: labels ?? [],
    };
    // The same rules the loader applies, so a scaffolded config always loads.
    parseModelConfig(config, `${names[tier]}/config.json`, names[tier]);
    return { tier, name: names[tier], source: req.files[tier], config };
  });
  if (!req.outputKind) {
    for (const tier of TIERS) {
      const kind = signatures[tier].outputKind;
      notes.push(
        kind === 'probabilities'
          ? `output_kind: "probabilities" for ${names[tier]} (its outputs[0] is non-negative and sums to 1 on random inputs)`
          : `output_kind: "logits" for ${names[tier]} (softmax applied before scoring)${kind === undefined ? '; it could not be probed' : ''}; pass --output-kind to choose`,
      );
    }
  }
  notes.push('routing: {"score": "margin", "threshold": null} (uncalibrated: fogline calibrate fills it)');
  return { models, notes: [...new Set(notes)] };
}

/**
 * Writes `<dir>/<name>/{config.json,1/model.onnx}` for each planned model. Refuses when a model
 * directory exists, unless `force` (which replaces that directory, all its versions included).
 */
export async function writeModelRepository(dir: string, plan: ScaffoldPlan, force = false): Promise<void> {
  const existing = plan.models.map((m) => join(dir, m.name)).filter((p) => existsSync(p));
  if (existing.length > 0 && !force) {
    fail(`${existing.join(', ')} already exist${existing.length === 1 ? 's' : ''}; pass --force to replace`, {
      file: existing[0],
    });
  }
  for (const m of plan.models) {
    const modelDir = join(dir, m.name);
    if (force) await rm(modelDir, { recursive: true, force: true });
    await mkdir(join(modelDir, '1'), { recursive: true });
    await copyFile(m.source, join(modelDir, '1', 'model.onnx'));
    await writeFile(join(modelDir, 'config.json'), `${JSON.stringify(m.config, null, 2)}\n`);
  }
}

/** The three model names: each a directory of the repository, so each follows the one name rule (core/names.ts). */
function modelNames(req: ScaffoldRequest): Record<Tier, string> {
  if (req.prefix !== undefined) {
    const names = Object.fromEntries(TIERS.map((t) => [t, `${req.prefix}-${TIER_SUFFIX[t]}`])) as Record<
      Tier,
      string
    >;
    const bad = TIERS.map((t) => names[t]).find((n) => !isValidName(n));
    if (bad !== undefined) {
      fail(`--name "${req.prefix}" makes the model name "${bad}": a model name is ${NAME_RULE}`, {
        field: 'name',
        value: req.prefix,
      });
    }
    return names;
  }
  const names = Object.fromEntries(
    TIERS.map((t) => [t, basename(req.files[t], extname(req.files[t]))]),
  ) as Record<Tier, string>;
  const list = TIERS.map((t) => names[t]);
  if (new Set(list).size < 3 || !list.every(isValidName)) {
    fail(
      `the files are named ${list.map((n) => `"${n}"`).join(', ')}: pass --name <prefix> to name the models <prefix>-tiny, -mid and -large`,
    );
  }
  return names;
}

/**
 * The preprocessing block written out in full for an image input ([N,C,H,W] or [N,H,W,C] with 1 or
 * 3 channels), so users see and edit it; none for other inputs (the loader's defaults apply).
 */
function preprocessingFor(
  input: TensorSpec,
  given: NonNullable<ScaffoldRequest['preprocessing']>,
  notes: string[],
): { preprocessing?: Record<string, unknown> } {
  const s = input.shape;
  const isChannels = (c: number | undefined) => c === 1 || c === 3;
  const layout =
    s.length !== 4 ? undefined : isChannels(s[1]) ? 'NCHW' : isChannels(s[3]) ? 'NHWC' : undefined;
  if (layout === undefined) {
    if (given.scale !== undefined || given.mean !== undefined || given.std !== undefined) {
      fail(
        `preprocessing (--scale/--mean/--std) applies to image inputs, but inputs[0] "${input.name}" is [${s.join(', ')}]`,
        { field: 'preprocessing' },
      );
    }
    notes.push(`preprocessing: inputs[0] [${s.join(', ')}] is not an image of 1 or 3 channels; none written`);
    return {};
  }
  const channels = (layout === 'NCHW' ? s[1] : s[3])!;
  const integer = input.datatype === 'UINT8' || input.datatype === 'INT8';
  const perChannel = (v: readonly number[] | undefined, fallback: number) =>
    v === undefined ? Array(channels).fill(fallback) : v.length === 1 ? Array(channels).fill(v[0]) : [...v];
  const preprocessing = {
    layout,
    channel_order: channels === 3 ? 'RGB' : 'GRAY',
    scale: given.scale ?? (integer ? 1 : 1 / 255),
    mean: perChannel(given.mean, 0),
    std: perChannel(given.std, 1),
  };
  const chosen = given.scale !== undefined || given.mean !== undefined || given.std !== undefined;
  notes.push(
    chosen
      ? `preprocessing: ${layout}, ${preprocessing.channel_order}, scale ${preprocessing.scale}, mean [${preprocessing.mean.join(', ')}], std [${preprocessing.std.join(', ')}] as given`
      : `preprocessing: ${layout}, ${preprocessing.channel_order}, ${integer ? 'pixels as they are (scale 1)' : 'pixels / 255, mean 0, std 1'}; edit it (or pass --mean/--std/--scale) to match how the models were trained`,
  );
  return { preprocessing };
}
