/** @fogline/toolchain/testing: test support (small ONNX models built in code). */

export * from './small-cnn.ts';
export * from './typed-classifier.ts';
export * from './typed-fixtures.ts';
