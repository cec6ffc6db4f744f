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
