/** The feedable input of a model: graph inputs that are not initializers (IR ≥ 4 allows both). */
import { FoglineError } from '@fogline/shared';
import { graphOf, valueInfoDims } from './graph.ts';
import { DataType, type OnnxModel, type OnnxValueInfo } from './ir.ts';

export function feedableInputs(model: OnnxModel): OnnxValueInfo[] {
  const graph = graphOf(model);
  const constants = new Set((graph.initializer ?? []).map((t) => t.name));
  return (graph.input ?? []).filter((i) => !constants.has(i.name));
}

export interface SingleInput {
  readonly name: string;
  /** Input dims without the leading batch dim; undefined = symbolic. */
  readonly sampleDims: readonly (number | undefined)[];
}

/** The one FLOAT input (batch dim first) the toolchain feeds; other layouts are rejected clearly. */
export function singleFloatInput(model: OnnxModel): SingleInput {
  const inputs = feedableInputs(model);
  const [input] = inputs;
  if (inputs.length !== 1 || !input?.name) {
    throw new FoglineError(
      'INVALID_ARG',
      `the model has ${inputs.length} inputs; calibration and evaluation feed exactly one FLOAT input`,
      {
        details: { inputs: inputs.map((i) => i.name) },
      },
    );
  }
  const elemType = input.type?.tensorType?.elemType;
  if (elemType !== DataType.FLOAT) {
    throw new FoglineError(
      'INVALID_ARG',
      `model input "${input.name}" has element type ${elemType}; only FLOAT (1) inputs are supported`,
    );
  }
  const dims = valueInfoDims(input);
  if (!dims || dims.length < 1) {
    throw new FoglineError(
      'INVALID_ARG',
      `model input "${input.name}" has no shape; it needs [batch, ...] dims`,
    );
  }
  return { name: input.name, sampleDims: dims.slice(1) };
}
