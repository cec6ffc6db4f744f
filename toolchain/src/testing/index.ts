/** @fogline/toolchain/testing: test support (small ONNX models built in code). */

export * from './flat-classifier.ts';
export * from './small-cnn.ts';
