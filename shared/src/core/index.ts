/**
 * @fogline/shared: the pure core of fogline. Nothing here does I/O (no sockets, files, threads or
 * onnxruntime), so the device SDK can bundle it for browsers. Adapters have entry points of their
 * own: '@fogline/shared/broker', '/runtime', '/secrets', '/model-repository', '/digits',
 * '/mqtt-client', and '/testing' for test support.
 */
export * from './batching/index.ts';
export * from './byte-range.ts';
export * from './clock.ts';
export * from './codec/index.ts';
export * from './errors.ts';
export * from './fabric/index.ts';
export * from './field/index.ts';
export * from './model-backend.ts';
export * from './model-config.ts';
export * from './names.ts';
export * from './oip.ts';
export * from './options.ts';
export * from './preprocess.ts';
export * from './retry-backoff.ts';
export * from './routing/index.ts';
export * from './seeded-random.ts';
export * from './tensor-values.ts';
export * from './token-bucket.ts';
export * from './token-buckets.ts';
export * from './traceparent.ts';
export * from './url-segment.ts';
