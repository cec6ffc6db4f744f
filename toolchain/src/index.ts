/**
 * @fogline/toolchain: ONNX model tooling in TypeScript, no Python needed.
 * - onnx/: onnx.proto via protobufjs (decode, rewrite, encode) and graph builders;
 * - quantize/: `fogline quantize` (static QDQ and dynamic int8) and its report;
 * - calibrate/: `fogline calibrate` (cascade thresholds fitted to a target) and its report.
 */

export { type CascadeCalibration, calibrateCascade } from './calibrate/calibrate-cascade.ts';
export {
  baselines,
  type Cascade,
  type CascadePolicy,
  evaluatePolicy,
  oracleOutcome,
} from './calibrate/cascade.ts';
export { choosePolicy, type Objective, parseAccuracyTarget } from './calibrate/objective.ts';
export { paretoFrontier, sweepPolicies } from './calibrate/sweep.ts';
export { decodeModel, encodeModel } from './onnx/codec.ts';
export type { OnnxGraph, OnnxModel, OnnxNode, OnnxTensor } from './onnx/ir.ts';
export { buildModel } from './onnx/model-builder.ts';
export {
  inspectModel,
  type QuantizedModel,
  type QuantizeOptions,
  quantizeModel,
} from './quantize/quantize-model.ts';
export { loadSampleSet, type SampleSet } from './quantize/sample-set.ts';
