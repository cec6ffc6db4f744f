export type { BatchingSnapshot, BatchSizeStats } from './batching-stats.ts';
export { BatchingStats } from './batching-stats.ts';
export type { BatchTimer, DynamicBatcherOptions } from './dynamic-batcher.ts';
export { DynamicBatcher } from './dynamic-batcher.ts';
