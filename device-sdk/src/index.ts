/**
 * @fogline/device-sdk for Node: `connectDevice` runs the tiny model with onnxruntime-node (or
 * onnxruntime-web where no native binary exists) and talks MQTT to its edge. Browsers: './browser'.
 */
import { connectDeviceWith, type DevicePlatform } from './connect-device-core.ts';
import type { Device } from './device.ts';
import type { ConnectDeviceOptions } from './device-options.ts';
import { nodeModelDownloads } from './model-download-node.ts';
import { DEFAULT_MODEL_PATH, loadConfigNextTo, loadModelBytes } from './model-source-node.ts';
import { FileQueue } from './offline/file-queue.ts';
import { selectRuntime } from './runtime/select-runtime.ts';

const nodePlatform: DevicePlatform = {
  defaultModel: DEFAULT_MODEL_PATH,
  loadModelBytes,
  loadConfigNextTo,
  createRuntime: selectRuntime,
  modelDownloads: nodeModelDownloads,
  openDurableQueue: (store) => new FileQueue({ dir: store.dir, maxBytes: store.maxBytes }),
};

/** Loads the model, connects to the broker and resolves once connected (or offline, retrying). */
export function connectDevice(options: ConnectDeviceOptions): Promise<Device> {
  return connectDeviceWith(nodePlatform, options);
}

export * from './common-exports.ts';
export { DEFAULT_MODEL_PATH } from './model-source-node.ts';
export type {
  ModelRuntime,
  RuntimeKind,
  RuntimeModel,
  RuntimeOutput,
  RuntimeTensorInfo,
  WebRuntimeOptions,
} from './runtime/model-runtime.ts';
export { createNodeRuntime } from './runtime/node-runtime.ts';
export { createWebRuntime } from './runtime/web-runtime.ts';
