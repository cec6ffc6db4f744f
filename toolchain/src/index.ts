/**
 * @fogline/toolchain: ONNX model tooling in TypeScript, no Python needed.
 * - onnx/: onnx.proto via protobufjs (decode, rewrite, encode) and graph builders;
 * - quantize/: `fogline quantize` (static QDQ and dynamic int8) and its report;
 * - calibrate/: `fogline calibrate` (cascade thresholds fitted to a target, the drift reference) and its report;
 * - dataset/: the one dataset reader (image folders, .npy pairs, digits, JSON, raw float32);
 * - evaluate/: the one evaluation of a classifier over a dataset.
 */

export {
  type CascadeCalibration,
  calibrateCascade,
  TIER_ROLES,
  type TierModel,
  type TierRole,
} from './calibrate/calibrate-cascade.ts';
export { type CalibratedFields, writeCalibratedConfig } from './calibrate/calibrated-config.ts';
export { type CalibrationReport, formatStage } from './calibrate/calibration-report.ts';
export {
  baselines,
  type Cascade,
  type CascadePolicy,
  evaluatePolicy,
  oracleOutcome,
} from './calibrate/cascade.ts';
export { driftReferenceOf, type ScoredModel } from './calibrate/drift-reference.ts';
export {
  choosePolicy,
  describeObjective,
  type Minimize,
  type Objective,
  parseAccuracyTarget,
} from './calibrate/objective.ts';
export { calibrationReportJson, writeCalibrationReport } from './calibrate/report-files.ts';
export { paretoFrontier, sweepPolicies } from './calibrate/sweep.ts';
export * from './controller/index.ts';
export * from './dataset/index.ts';
export * from './evaluate/index.ts';
export { decodeModel, encodeModel } from './onnx/codec.ts';
export { attrInt, attrInts, makeNode, tensorValueInfo } from './onnx/graph.ts';
export { DataType, type OnnxGraph, type OnnxModel, type OnnxNode, type OnnxTensor } from './onnx/ir.ts';
export { buildModel } from './onnx/model-builder.ts';
export { floatTensor } from './onnx/tensor.ts';
export type { CalibrationProgress } from './quantize/collect-ranges.ts';
export { type ModelPrecision, precisionOf } from './quantize/model-precision.ts';
export { type ModelSignature, openSession } from './quantize/model-runner.ts';
export {
  inspectModel,
  type QuantizedModel,
  type QuantizeOptions,
  quantizeModel,
} from './quantize/quantize-model.ts';
export {
  compareLatency,
  compareOnSets,
  environment,
  type QuantizeReport,
  quantizeReportMarkdown,
} from './quantize/quantize-report.ts';
