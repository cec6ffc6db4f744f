export {
  type BatchRun,
  createBatchRunner,
  feedOf,
  type InferItem,
  sampleBytes,
  sampleElements,
  zeroFeeds,
} from './batch-runner.ts';
export { checkBatchableInputs, type DeclaredInput } from './batchable-inputs.ts';
export { type BatchingOverrides, type BatchingSettings, batchingSettings } from './batching-settings.ts';
export {
  cachedProbe,
  PROBE_CACHE_FILE,
  type ProbeOptions,
  probeInCache,
  probeKey,
  probeModel,
} from './engine-probe.ts';
export { defaultEdgeEngineSizing, defaultEngineSizing, type EngineSizing } from './engine-sizing.ts';
export {
  createInferenceEngine,
  type InferenceEngine,
  type InferenceEngineOptions,
  type RunOptions,
  type TensorData,
  type TensorFeeds,
  type TensorMap,
  type TensorValue,
} from './inference-engine.ts';
export { ModelInstance, type ModelInstanceOptions, type ModelInstanceParts } from './model-instance.ts';
export {
  type EngineProbe,
  LOOP_US_PER_REQUEST,
  type ProbedSizing,
  type ProbePoint,
  type ServingTier,
  sizeFromProbe,
} from './probed-sizing.ts';
export { servingSessionOptions } from './session-options.mjs';
export {
  chooseSizing,
  SIZING_MODES,
  type SizingChoice,
  type SizingMode,
  type SizingRequest,
} from './sizing-choice.ts';
