/**
 * The model a device runs, as its config describes it (docs/device-sdk.md "Model config"): the input
 * it is fed (name, datatype, shape with batch 1, quantization), the output it is read from, what that
 * output holds, and the labels. The config comes from the model's config.json or the `config`
 * option; a bare ONNX gets one derived from the graph (its own input and output names, the digits
 * shape where the graph leaves dims open, logits, no labels). Checked against the loaded graph once,
 * at connect: a config that does not fit the ONNX fails there, naming the field.
 */
import {
  FoglineError,
  type ModelConfig,
  ORT_TYPE_OF,
  parseModelConfig,
  TENSOR_DATATYPES,
  type TensorDatatype,
  type TensorSpec,
} from '@fogline/shared';
import type { LocatedConfig } from './model-source.ts';
import type { ModelRuntime, RuntimeTensorInfo } from './runtime/model-runtime.ts';

export interface DeviceModel {
  /** The config in effect: from config.json, the `config` option, or derived from a bare ONNX. */
  readonly config: ModelConfig;
  /** config.inputs[0] with batch 1: what `infer` feeds and what an escalation carries. */
  readonly input: TensorSpec;
  /** Element count of one input (the length `infer` takes). */
  readonly inputSize: number;
  /** config.outputs[0]: what the device reads its answer from. */
  readonly output: TensorSpec;
}

export interface DeviceModelSources {
  /** A parsed config, and the file (or option) it came from; undefined for a bare ONNX. */
  readonly config: LocatedConfig | undefined;
  readonly runtime: ModelRuntime;
  /** The model's path or URL, for messages. */
  readonly model: string;
  /** `inputShape` option: only for a bare ONNX whose graph leaves dims open. */
  readonly inputShape: readonly number[] | undefined;
  /** Used for a bare ONNX whose graph leaves non-batch input dims open. */
  readonly defaultInputShape: readonly number[];
}

const DATATYPE_OF_ORT = new Map<string, TensorDatatype>(
  Object.entries(ORT_TYPE_OF).map(([d, t]) => [t, d as TensorDatatype]),
);

export function resolveDeviceModel(sources: DeviceModelSources): DeviceModel {
  const { runtime, model } = sources;
  if (!Array.isArray(runtime.inputs) || !Array.isArray(runtime.outputs)) {
    throw new FoglineError(
      'INVALID_ARG',
      'connectDevice: the runtime must list its graph inputs and outputs (ModelRuntime.inputs, .outputs)',
    );
  }
  if (runtime.inputs.length !== 1 || runtime.outputs.length === 0) {
    throw new FoglineError(
      'INVALID_ARG',
      `${model}: a device model takes one input and gives at least one output; it has inputs (${names(runtime.inputs)}) and outputs (${names(runtime.outputs)})`,
    );
  }
  const config = sources.config?.config ?? bareConfig(sources);
  const file = sources.config?.file ?? `${model} (no config.json)`;
  const input = config.inputs[0]!;
  const output = config.outputs[0]!;
  checkAgainstGraph(file, model, 'inputs[0]', input, runtime.inputs);
  checkAgainstGraph(file, model, 'outputs[0]', output, runtime.outputs);
  const sample = input.shape.slice(1);
  if (sample.some((d) => d < 1)) {
    throw new FoglineError(
      'INVALID_ARG',
      `${file}: field "inputs[0].shape" is [${input.shape.join(', ')}]; a device model's input needs fixed dims apart from the batch dim`,
      { details: { file, field: 'inputs[0].shape' } },
    );
  }
  const shape = [1, ...sample];
  if (sources.config && sources.inputShape && sources.inputShape.join() !== shape.join()) {
    throw new FoglineError(
      'INVALID_ARG',
      `connectDevice: inputShape [${sources.inputShape.join(', ')}] disagrees with ${file} inputs[0].shape [${input.shape.join(', ')}]; leave it out`,
    );
  }
  return Object.freeze({
    config,
    input: Object.freeze({ ...input, shape }),
    inputSize: shape.reduce((a, b) => a * b, 1),
    output,
  });
}

/** The config a bare ONNX gets: its graph's names and types, the digits shape where dims are open. */
function bareConfig(sources: DeviceModelSources): ModelConfig {
  const { runtime, model } = sources;
  const input = runtime.inputs[0]!;
  const output = runtime.outputs.find((o) => o.name === 'logits') ?? runtime.outputs[0]!;
  const fixed = input.shape.length > 1 && input.shape.slice(1).every((d) => d > 0);
  const shape = sources.inputShape ?? (fixed ? [1, ...input.shape.slice(1)] : sources.defaultInputShape);
  const tensor = (t: RuntimeTensorInfo, dims: readonly number[]) => ({
    name: t.name,
    datatype: datatypeOf(model, t),
    shape: [-1, ...dims.slice(1)],
  });
  const outputDims = output.shape.length > 1 ? output.shape : [-1, -1];
  return parseModelConfig(
    {
      name: 'device-model',
      tier: 'device',
      platform: 'onnxruntime_onnx',
      max_batch_size: 1,
      inputs: [tensor(input, shape)],
      outputs: [tensor(output, outputDims)],
    },
    `${model} (no config.json)`,
    'device-model',
  );
}

function datatypeOf(model: string, t: RuntimeTensorInfo): TensorDatatype {
  const datatype = DATATYPE_OF_ORT.get(t.type);
  if (datatype === undefined) {
    throw new FoglineError(
      'INVALID_ARG',
      `${model}: tensor "${t.name}" is ${t.type}; a device model's tensors are ${TENSOR_DATATYPES.join(', ')}`,
    );
  }
  return datatype;
}

/** The config's tensor exists in the graph under its name, with its datatype and compatible dims. */
function checkAgainstGraph(
  file: string,
  model: string,
  field: string,
  spec: TensorSpec,
  graph: readonly RuntimeTensorInfo[],
): void {
  const fail = (at: string, problem: string): never => {
    throw new FoglineError('INVALID_ARG', `${file}: field "${at}" ${problem}`, {
      details: { file, field: at },
    });
  };
  const actual = graph.find((t) => t.name === spec.name);
  if (actual === undefined) {
    fail(`${field}.name`, `is "${spec.name}" but ${model} has ${names(graph)}`);
    return;
  }
  if (actual.type !== ORT_TYPE_OF[spec.datatype]) {
    fail(`${field}.datatype`, `is ${spec.datatype} but "${spec.name}" in ${model} is ${actual.type}`);
  }
  const clash =
    actual.shape.length > 0 &&
    (actual.shape.length !== spec.shape.length ||
      spec.shape.some((d, i) => i > 0 && d > 0 && actual.shape[i]! > 0 && actual.shape[i] !== d));
  if (clash) {
    fail(
      `${field}.shape`,
      `is [${spec.shape.join(', ')}] but "${spec.name}" in ${model} is [${actual.shape.join(', ')}]`,
    );
  }
}

function names(tensors: readonly RuntimeTensorInfo[]): string {
  return tensors.map((t) => `"${t.name}"`).join(', ') || 'none';
}
