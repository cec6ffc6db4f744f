/**
 * @fogline/device-sdk/testing: a real broker with a scripted edge, for device tests, and the typed
 * classifiers the SDK's tests run (built in @fogline/toolchain/testing, a devDependency: this entry
 * is for tests only).
 */
export {
  HALF_FP16,
  PIXELS_UINT8,
  PROBS_FP32,
  writeTypedClassifier,
} from '@fogline/toolchain/testing';
export * from './edge-responder.ts';
