/** `connectDevice` for any platform: what differs between Node and browsers comes in as a DevicePlatform. */
import { DEFAULT_POLICY, FoglineError, type RoutingPolicy, resolvePolicy } from '@fogline/shared';
import { Device } from './device.ts';
import { type ConnectDeviceOptions, resolveDeviceSettings } from './device-options.ts';
import { modelVersionOf } from './model-source.ts';
import type { ModelRuntime, RuntimeModel, WebRuntimeOptions } from './runtime/model-runtime.ts';

export interface DevicePlatform {
  /** Model used when the options give none (Node: the committed digits-tiny). */
  readonly defaultModel?: string | URL;
  loadModelBytes(source: string | URL): Promise<Uint8Array>;
  loadPolicyNextTo(source: string | URL): Promise<RoutingPolicy | undefined>;
  createRuntime(
    choice: 'auto' | 'node' | 'web',
    model: RuntimeModel,
    web?: WebRuntimeOptions,
  ): Promise<ModelRuntime>;
}

const RUNTIME_CHOICES = ['auto', 'node', 'web'];

export async function connectDeviceWith(
  platform: DevicePlatform,
  options: ConnectDeviceOptions,
): Promise<Device> {
  const settings = resolveDeviceSettings(options);
  const source = options.model ?? platform.defaultModel;
  if (source === undefined)
    throw new FoglineError('INVALID_ARG', 'connectDevice: model (a URL of the ONNX file) is required');
  const runtimeOption = options.runtime ?? 'auto';
  if (typeof runtimeOption === 'string' && !RUNTIME_CHOICES.includes(runtimeOption)) {
    throw new FoglineError('INVALID_ARG', `connectDevice: runtime must be auto, node, web or a ModelRuntime`);
  }
  const policy = resolvePolicy(options.policy ?? (await platform.loadPolicyNextTo(source)) ?? DEFAULT_POLICY);
  const runtime =
    typeof runtimeOption === 'object'
      ? runtimeOption
      : await platform.createRuntime(
          runtimeOption,
          { bytes: await platform.loadModelBytes(source), inputShape: settings.inputShape },
          options.web,
        );
  const device = new Device({ settings, runtime, policy, modelVersion: modelVersionOf(source) });
  try {
    await device.ready();
  } catch (err) {
    await device.close();
    throw err;
  }
  return device;
}
