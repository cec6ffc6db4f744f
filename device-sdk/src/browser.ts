/**
 * @fogline/device-sdk for browsers: MQTT over WebSocket (MQTT.js' browser build) and the tiny model on
 * onnxruntime-web (WASM). `model` must be a URL; its config comes from the options, or from
 * `models/<name>/config.json` served next to `models/<name>/<version>/model.onnx`.
 */
import { FoglineError } from '@fogline/shared';
import { connectDeviceWith, type DevicePlatform } from './connect-device-core.ts';
import type { Device } from './device.ts';
import type { ConnectDeviceOptions } from './device-options.ts';
import { fetchConfigNextTo, fetchModelBytes } from './model-source.ts';
import { createWebRuntime } from './runtime/web-runtime.ts';

const browserPlatform: DevicePlatform = {
  loadModelBytes: fetchModelBytes,
  loadConfigNextTo: fetchConfigNextTo,
  async createRuntime(choice, model, web) {
    if (choice === 'node')
      throw new FoglineError('INVALID_ARG', 'connectDevice: no onnxruntime-node in a browser');
    return createWebRuntime(model, web);
  },
};

export type BrowserDeviceOptions = ConnectDeviceOptions & { model: string | URL };

export function connectDevice(options: BrowserDeviceOptions): Promise<Device> {
  const brokers = options?.broker;
  const urls = typeof brokers === 'string' ? [brokers] : Array.isArray(brokers) ? brokers : [brokers];
  if (!urls.every((url) => /^wss?:\/\//.test(String(url)))) {
    return Promise.reject(
      new FoglineError('INVALID_ARG', 'connectDevice: browsers reach the broker by ws:// or wss:// only'),
    );
  }
  return connectDeviceWith(browserPlatform, options);
}

export * from './common-exports.ts';
