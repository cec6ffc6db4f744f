import * as ort from 'onnxruntime-node';
import { FoglineError } from '../core/errors.ts';
import type { TensorDatatype, TensorSpec } from '../core/model-config.ts';
import type { ModelEntry } from './repository.ts';

const ORT_TYPE_OF: Record<TensorDatatype, string> = {
  FP32: 'float32',
  FP16: 'float16',
  UINT8: 'uint8',
  INT8: 'int8',
};

/**
 * Opens the ONNX file and checks that config.json describes its real inputs and outputs
 * (names, element type, rank, fixed dims). A mismatch names the file and the field.
 */
export async function validateModelFile(entry: ModelEntry, version = entry.latestVersion): Promise<void> {
  const path = entry.modelPath(version);
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(path);
  } catch (cause) {
    throw new FoglineError('INVALID_ARG', `${path}: onnxruntime cannot load it`, { cause });
  }
  try {
    compare(entry, path, 'inputs', entry.config.inputs, session.inputMetadata);
    compare(entry, path, 'outputs', entry.config.outputs, session.outputMetadata);
  } finally {
    await session.release();
  }
}

function compare(
  entry: ModelEntry,
  path: string,
  field: 'inputs' | 'outputs',
  specs: readonly TensorSpec[],
  actual: readonly ort.InferenceSession.ValueMetadata[],
): void {
  const where = `${entry.dir}/config.json field "${field}"`;
  const fail = (problem: string): never => {
    throw new FoglineError('INVALID_ARG', `${where} does not match ${path}: ${problem}`, {
      details: { file: path, field },
    });
  };
  const names = actual.map((m) => m.name);
  if (specs.length !== actual.length)
    fail(`config lists ${specs.length}, the model has ${actual.length} (${names.join(', ')})`);
  for (const [i, spec] of specs.entries()) {
    const meta = actual.find((m) => m.name === spec.name);
    if (!meta) fail(`${field}[${i}].name "${spec.name}" is not in the model (it has ${names.join(', ')})`);
    if (!meta?.isTensor) throw fail(`${field}[${i}] "${spec.name}" is not a tensor in the model`);
    if (meta.type !== ORT_TYPE_OF[spec.datatype]) {
      fail(`${field}[${i}].datatype is ${spec.datatype}, the model says ${meta.type}`);
    }
    if (meta.shape.length !== spec.shape.length) {
      fail(`${field}[${i}].shape has rank ${spec.shape.length}, the model's is [${meta.shape.join(', ')}]`);
    }
    spec.shape.forEach((dim, d) => {
      const real = meta.shape[d];
      const realFixed = typeof real === 'number' && real > 0;
      if (dim === -1 ? realFixed : !realFixed || real !== dim) {
        fail(`${field}[${i}].shape[${d}] is ${dim}, the model's is ${String(real)}`);
      }
    });
  }
}
