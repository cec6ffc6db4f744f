/**
 * What `fogline init` reads from an ONNX file: its inputs and outputs as config tensors (names,
 * datatypes, shapes with open dims as -1) and its class count, through onnxruntime, the same view
 * `validateModelFile` later compares configs against.
 */
import { readFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import { FoglineError } from '../core/errors.ts';
import {
  type OutputKind,
  TENSOR_DATATYPES,
  type TensorDatatype,
  type TensorSpec,
} from '../core/model-config.ts';
import { seededRandom } from '../core/seeded-random.ts';
import { ORT_TYPE_OF, toRealValues, toTensorData } from '../core/tensor-values.ts';

export interface OnnxSignature {
  readonly inputs: TensorSpec[];
  readonly outputs: TensorSpec[];
  /** The last dim of outputs[0]; undefined when the ONNX leaves it open. */
  readonly classes: number | undefined;
  /**
   * What outputs[0] holds, as seen by running the model on random inputs: 'probabilities' when every
   * row is non-negative and sums to 1 (the graph ends in a softmax), else 'logits'; undefined when it
   * could not be probed (open non-batch dims, integer outputs).
   */
  readonly outputKind: OutputKind | undefined;
}

const DATATYPE_OF = Object.fromEntries(Object.entries(ORT_TYPE_OF).map(([k, v]) => [v, k])) as Record<
  string,
  TensorDatatype
>;

const fail = (message: string, details: Record<string, unknown>): never => {
  throw new FoglineError('INVALID_ARG', message, { details });
};

/** The ONNX file's inputs and outputs as config tensors, and its class count. */
export async function readSignature(file: string, notes: string[]): Promise<OnnxSignature> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (cause) {
    throw new FoglineError('NOT_FOUND', `${file}: cannot read it`, { cause, details: { file } });
  }
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes);
  } catch (cause) {
    const reason = (cause instanceof Error ? cause.message : String(cause)).split('\n')[0];
    throw new FoglineError(
      'INVALID_ARG',
      `${file}: onnxruntime cannot load it as an ONNX model (${reason})`,
      {
        cause,
        details: { file },
      },
    );
  }
  try {
    const inputs = session.inputMetadata.map((m, i) => tensorOf(file, `inputs[${i}]`, m));
    const outputs = session.outputMetadata.map((m, i) => tensorOf(file, `outputs[${i}]`, m));
    if (inputs.length !== 1) {
      fail(
        `${file}: has ${inputs.length} inputs (${inputs.map((t) => t.name).join(', ')}); a cascade's models take one`,
        {
          file,
          field: 'inputs',
        },
      );
    }
    const batch = inputs[0]!.shape[0]!;
    if (batch > 1) {
      fail(
        `${file}: inputs[0] "${inputs[0]!.name}" has a fixed batch of ${batch}; export it with a dynamic batch axis (or batch 1)`,
        { file, field: 'inputs[0].shape[0]' },
      );
    }
    if (batch === 1) {
      notes.push(
        `${file}: the batch dim is fixed at 1, so max_batch_size is 1 (no batching); export a dynamic batch axis to batch`,
      );
    }
    const declared = outputs[0]!.shape.at(-1)!;
    return {
      inputs,
      outputs,
      classes: declared === -1 ? undefined : declared,
      outputKind: await probeOutputKind(session, inputs[0]!, outputs[0]!),
    };
  } finally {
    await session.release();
  }
}

function tensorOf(file: string, field: string, meta: ort.InferenceSession.ValueMetadata): TensorSpec {
  if (!meta.isTensor) fail(`${file}: ${field} "${meta.name}" is not a tensor`, { file, field });
  const m = meta as ort.InferenceSession.TensorValueMetadata;
  const datatype = DATATYPE_OF[m.type];
  if (datatype === undefined) {
    fail(
      `${file}: ${field} "${m.name}" has element type ${m.type}; fogline tensors are ${TENSOR_DATATYPES.join(', ')}`,
      { file, field: `${field}.datatype` },
    );
  }
  const shape = m.shape.map((d) => (typeof d === 'number' && d > 0 ? d : -1));
  if (shape.length === 0)
    fail(`${file}: ${field} "${m.name}" is a scalar; it needs a batch dim`, { file, field });
  return { name: m.name, datatype: datatype!, shape };
}

/** Rows of outputs[0] on random inputs (two, or one at a fixed batch of 1): probabilities when each is ≥ 0 and sums to 1. */
async function probeOutputKind(
  session: ort.InferenceSession,
  input: TensorSpec,
  output: TensorSpec,
): Promise<OutputKind | undefined> {
  const rows = input.shape[0] === 1 ? 1 : 2;
  const dims = [rows, ...input.shape.slice(1)];
  if (dims.some((d) => d < 1) || (output.datatype !== 'FP32' && output.datatype !== 'FP16')) return undefined;
  const random = seededRandom(7);
  const count = dims.reduce((a, b) => a * b, 1);
  const integer = input.datatype === 'UINT8' || input.datatype === 'INT8';
  const values = Array.from({ length: count }, () => (integer ? Math.floor(random() * 128) : random()));
  try {
    const feed = new ort.Tensor(ORT_TYPE_OF[input.datatype], toTensorData(values, input) as never, dims);
    const result = await session.run({ [input.name]: feed });
    const data = result[output.name]?.data as Float32Array | Uint16Array | undefined;
    if (data === undefined || data.length === 0 || data.length % rows !== 0) return undefined;
    const real = toRealValues(data, output);
    const k = real.length / rows;
    for (let row = 0; row < rows; row++) {
      let sum = 0;
      for (let i = row * k; i < (row + 1) * k; i++) {
        if (!(real[i]! >= -1e-6)) return 'logits';
        sum += real[i]!;
      }
      if (Math.abs(sum - 1) > 1e-3) return 'logits';
    }
    return 'probabilities';
  } catch {
    return undefined; // a model that needs more than random values to run: say nothing
  }
}
