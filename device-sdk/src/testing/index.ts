/**
 * @fogline/device-sdk/testing: a real broker with a scripted edge, and small typed classifiers
 * (built with @fogline/toolchain, a devDependency: this entry is for tests only), for device tests.
 */
export * from './edge-responder.ts';
export * from './typed-classifier.ts';
