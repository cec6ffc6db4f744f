/** @fogline/toolchain/testing: test support (small ONNX models built in code). */
export * from './small-cnn.ts';
