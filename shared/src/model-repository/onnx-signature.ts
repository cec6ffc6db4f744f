/**
 * What `fogline init` reads from an ONNX file: its inputs and outputs as config tensors (names,
 * datatypes, shapes with open dims as -1) and its class count, through onnxruntime, the same view
 * `validateModelFile` later compares configs against.
 */
import { readFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import { FoglineError } from '../core/errors.ts';
import { TENSOR_DATATYPES, type TensorDatatype, type TensorSpec } from '../core/model-config.ts';
import { ORT_TYPE_OF } from '../core/tensor-values.ts';

export interface OnnxSignature {
  readonly inputs: TensorSpec[];
  readonly outputs: TensorSpec[];
  /** The last dim of outputs[0]; undefined when the ONNX leaves it open. */
  readonly classes: number | undefined;
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
    return { inputs, outputs, classes: declared === -1 ? undefined : declared };
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
