/**
 * A serving model's side of the fabric contract (wire.md, docs/design.md "Protocols"), the one place
 * every upper tier (edge agent, cloud playing a device's edge, edge → cloud call) turns a request into
 * its model's input and the model's output into the answer:
 *
 * - the input is the request's tensors[0] taken by position, whatever its name; its sample shape must
 *   be the model's; data of the model's own datatype and quantization passes through unchanged, other
 *   data is read as real values (`input_scale`/`input_zero_point` when the device quantized it) and
 *   written in the model's datatype (`toTensorData`), then fed under the model's own input name;
 * - the answer is the model's first output (by config name), dequantized or half-decoded into FP32
 *   real values and scored per the config's `output_kind`.
 */
import { FoglineError } from '../errors.ts';
import { type OutputKind, TENSOR_DATATYPES, type TensorDatatype, type TensorSpec } from '../model-config.ts';
import type { Tensor, TensorData } from '../oip.ts';
import { classProbabilities, toRealValues, toTensorData, type ValueSpec } from '../tensor-values.ts';
import type { FabricRequest } from './request.ts';
import { sampleShapeOf } from './tier-compat.ts';

/** What of a request the input is read from. */
export type RequestTensors = Pick<FabricRequest, 'tensors' | 'inputQuantization'>;

/**
 * The request's one input as the tensor the model of `spec` consumes: shape `[1, ...]`, the spec's
 * name and datatype. INVALID_ARG naming the problem: several tensors, a datatype outside FP32, FP16,
 * UINT8, INT8, another sample shape, or values that are not finite.
 */
export function servingInput(request: RequestTensors, spec: TensorSpec): Tensor<TensorDatatype> {
  const { tensors } = request;
  const tensor = tensors[0];
  if (tensor === undefined || tensors.length !== 1) {
    throw new FoglineError('INVALID_ARG', `a request carries one input tensor, got ${tensors.length}`);
  }
  const { datatype, shape } = tensor;
  if (!(TENSOR_DATATYPES as readonly string[]).includes(datatype)) {
    throw new FoglineError(
      'INVALID_ARG',
      `input "${tensor.name}" has datatype ${datatype}; requests carry ${TENSOR_DATATYPES.join(', ')}`,
    );
  }
  const wanted = [1, ...spec.shape.slice(1)];
  if (shape.length !== wanted.length || shape.some((d, i) => d !== wanted[i])) {
    throw new FoglineError(
      'INVALID_ARG',
      `input "${tensor.name}" has shape [${shape.join(',')}], model input "${spec.name}" takes [${wanted.join(',')}] (one sample of ${sampleShapeOf(spec.shape)})`,
    );
  }
  const from: ValueSpec = {
    datatype: datatype as TensorDatatype,
    ...(request.inputQuantization && { quantization: request.inputQuantization }),
  };
  const data = tensor.data as TensorData<TensorDatatype>;
  if (sameEncoding(from, spec)) {
    if (from.datatype === 'FP32' || from.datatype === 'FP16')
      checkFinite(tensor.name, toRealValues(data, from));
    return { name: spec.name, datatype: spec.datatype, shape: wanted, data } as Tensor<TensorDatatype>;
  }
  const real = toRealValues(data, from);
  checkFinite(tensor.name, real);
  return {
    name: spec.name,
    datatype: spec.datatype,
    shape: wanted,
    data: toTensorData(real, spec),
  } as Tensor<TensorDatatype>;
}

function sameEncoding(a: ValueSpec, b: ValueSpec): boolean {
  if (a.datatype !== b.datatype) return false;
  const qa = a.quantization;
  const qb = b.quantization;
  if (qa === undefined || qb === undefined) return qa === qb;
  return qa.scale === qb.scale && qa.zero_point === qb.zero_point;
}

// Plain loops: this runs for every element of every request on the serving tier's event loop. x − x
// is 0 for every finite x and NaN for ±Infinity and NaN, so one sum without a branch per element
// (~0.6 µs for 784 values against ~1.0 with a test each) says whether the slow search is needed.
function checkFinite(name: string, values: Float32Array): void {
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    sum += v - v;
  }
  if (sum === 0) return;
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      throw new FoglineError('INVALID_ARG', `input "${name}": element ${i} is not a finite number`);
    }
  }
}

/** One answer of a model: its class scores as real values, and the probabilities they stand for. */
export interface ClassAnswer {
  /** The first output's row as FP32 real values (dequantized, half decoded): what a reply carries. */
  readonly values: Float32Array;
  /** Per-class probabilities (softmax of logits, or the probabilities renormalised). */
  readonly probabilities: Float64Array;
}

/**
 * The answer in one row of a model's first output (`data`, of `spec`), whose config says it holds
 * `kind`. INTERNAL naming the model when the data is not what its config declares.
 */
export function readClassAnswer(
  data: TensorData | undefined,
  spec: TensorSpec,
  kind: OutputKind,
  model: string,
): ClassAnswer {
  if (data === undefined || data.length === 0) {
    throw new FoglineError('INTERNAL', `model "${model}" returned no "${spec.name}" output`);
  }
  let values: Float32Array;
  try {
    values = toRealValues(data, spec);
  } catch (cause) {
    throw new FoglineError(
      'INTERNAL',
      `model "${model}": output "${spec.name}" does not hold the ${spec.datatype} values its config declares`,
      { cause },
    );
  }
  return { values, probabilities: classProbabilities(values, kind) };
}
