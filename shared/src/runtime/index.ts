export {
  type BatchRun,
  createBatchRunner,
  feedOf,
  type InferItem,
  sampleBytes,
  sampleElements,
} from './batch-runner.ts';
export { type BatchingOverrides, type BatchingSettings, batchingSettings } from './batching-settings.ts';
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
