/** @fogline/device-sdk/testing: a real broker with a scripted edge, for device tests. */
export * from './edge-responder.ts';
