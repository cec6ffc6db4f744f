import * as ort from 'onnxruntime-node';
import { FoglineError } from '../core/errors.ts';
import type { ModelConfig, TensorSpec } from '../core/model-config.ts';
import { ORT_TYPE_OF } from '../core/tensor-values.ts';
import { checkBatchableInputs } from '../runtime/batchable-inputs.ts';
import type { ModelEntry } from './repository.ts';

/** One way a config.json and its ONNX file disagree: the ONNX file, the config field, one line. */
export interface ModelFileProblem {
  readonly file: string;
  readonly field: string;
  readonly message: string;
}

/**
 * Opens the ONNX file and checks that config.json describes its real inputs and outputs
 * (names, element type, rank, fixed dims, quantization on integer tensors only, and says when
 * the labels no longer fit the model's class count), and that its inputs can be batched up to
 * max_batch_size (checkBatchableInputs, the rule a load applies). Throws the first mismatch, naming the file and the field; every problem
 * is in `details.problems`.
 */
export async function validateModelFile(entry: ModelEntry, version = entry.latestVersion): Promise<void> {
  const problems = await modelFileProblems(entry, version);
  const first = problems[0];
  if (first) {
    throw new FoglineError('INVALID_ARG', first.message, {
      details: { file: first.file, field: first.field, problems },
    });
  }
}

/** Every disagreement between config.json and one version's ONNX file (empty: they agree). */
export async function modelFileProblems(
  entry: ModelEntry,
  version = entry.latestVersion,
): Promise<ModelFileProblem[]> {
  const path = entry.modelPath(version);
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(path);
  } catch (cause) {
    const reason = (cause instanceof Error ? cause.message : String(cause)).split('\n')[0];
    return [{ file: path, field: '(file)', message: `${path}: onnxruntime cannot load it (${reason})` }];
  }
  try {
    const where = (field: string) => `${entry.dir}/config.json field "${field}" does not match ${path}`;
    return [
      ...compare(where('inputs'), path, 'inputs', entry.config.inputs, session.inputMetadata),
      ...compare(
        where('outputs'),
        path,
        'outputs',
        entry.config.outputs,
        session.outputMetadata,
        entry.config,
      ),
      ...batchProblems(entry, path, session.inputMetadata),
    ];
  } finally {
    await session.release();
  }
}

function compare(
  where: string,
  path: string,
  field: 'inputs' | 'outputs',
  specs: readonly TensorSpec[],
  actual: readonly ort.InferenceSession.ValueMetadata[],
  config?: ModelConfig,
): ModelFileProblem[] {
  const problems: ModelFileProblem[] = [];
  const add = (at: string, problem: string) =>
    problems.push({ file: path, field: at, message: `${where}: ${problem}` });
  const names = actual.map((m) => m.name);
  if (specs.length !== actual.length)
    add(field, `config lists ${specs.length}, the model has ${actual.length} (${names.join(', ')})`);
  for (const [i, spec] of specs.entries()) {
    const at = `${field}[${i}]`;
    const meta = actual.find((m) => m.name === spec.name);
    if (!meta) {
      add(`${at}.name`, `${at}.name "${spec.name}" is not in the model (it has ${names.join(', ')})`);
      continue;
    }
    if (!meta.isTensor) {
      add(at, `${at} "${spec.name}" is not a tensor in the model`);
      continue;
    }
    if (spec.quantization && meta.type !== 'uint8' && meta.type !== 'int8') {
      add(
        `${at}.quantization`,
        `${at}.quantization applies to int8/uint8 tensors, the model's "${spec.name}" is ${meta.type}`,
      );
    } else if (meta.type !== ORT_TYPE_OF[spec.datatype]) {
      add(`${at}.datatype`, `${at}.datatype is ${spec.datatype}, the model says ${meta.type}`);
    }
    if (meta.shape.length !== spec.shape.length) {
      add(
        `${at}.shape`,
        `${at}.shape has rank ${spec.shape.length}, the model's is [${meta.shape.join(', ')}]`,
      );
      continue;
    }
    spec.shape.forEach((dim, d) => {
      const real = meta.shape[d];
      const realFixed = typeof real === 'number' && real > 0;
      if (dim === -1 ? realFixed : !realFixed || real !== dim) {
        // The class dim of outputs[0] is what the labels name: say so when they no longer fit.
        const labels = config && i === 0 && d === spec.shape.length - 1 ? config.labels.length : 0;
        const classes =
          labels > 0 && realFixed && real !== labels ? ` (${real} classes, labels has ${labels} names)` : '';
        add(`${at}.shape[${d}]`, `${at}.shape[${d}] is ${dim}, the model's is ${String(real)}${classes}`);
      }
    });
  }
  return problems;
}

/** What a load would refuse in the ONNX file's own input dims (symbolic dims are open: -1). */
function batchProblems(
  entry: ModelEntry,
  path: string,
  inputs: readonly ort.InferenceSession.ValueMetadata[],
): ModelFileProblem[] {
  const declared = inputs.flatMap((m) =>
    m.isTensor
      ? [{ name: m.name, shape: m.shape.map((d) => (typeof d === 'number' && d > 0 ? d : -1)) }]
      : [],
  );
  try {
    checkBatchableInputs(entry.name, declared, entry.config.max_batch_size, path);
    return [];
  } catch (err) {
    if (!(err instanceof FoglineError)) throw err;
    return [{ file: path, field: 'max_batch_size', message: `${entry.dir}/config.json: ${err.message}` }];
  }
}
