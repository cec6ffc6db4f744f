/** @fogline/toolchain/testing: test support (small ONNX models built in code). */

export * from './classifier-repository.ts';
export * from './flat-classifier.ts';
export * from './small-cnn.ts';
export * from './uint8-classifier.ts';
