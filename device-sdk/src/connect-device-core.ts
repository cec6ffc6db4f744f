/** `connectDevice` for any platform: what differs between Node and browsers comes in as a DevicePlatform. */
import { DEFAULT_POLICY, FoglineError, parseModelConfig, resolvePolicy } from '@fogline/shared';
import { Device } from './device.ts';
import { resolveDeviceModel } from './device-model.ts';
import {
  type ConnectDeviceOptions,
  DEVICE_DEFAULTS,
  type DeviceSettings,
  resolveDeviceSettings,
} from './device-options.ts';
import type { DevicePolicy } from './device-policy.ts';
import { configFromText, type LocatedConfig, modelVersionOf } from './model-source.ts';
import type { ModelFiles, ModelUpdaterOptions } from './model-updater.ts';
import type { DurableQueue } from './offline/store-and-forward.ts';
import type { DurableStoreSettings } from './offline/store-options.ts';
import type { ModelRuntime, RuntimeModel, WebRuntimeOptions } from './runtime/model-runtime.ts';

export interface DevicePlatform {
  /** Model used when the options give none (Node: the committed digits-tiny). */
  readonly defaultModel?: string | URL;
  loadModelBytes(source: string | URL): Promise<Uint8Array>;
  /** The model's config.json (repository layout), undefined when there is none; throws when it is invalid. */
  loadConfigNextTo(source: string | URL): Promise<LocatedConfig | undefined>;
  createRuntime(
    choice: 'auto' | 'node' | 'web',
    model: RuntimeModel,
    web?: WebRuntimeOptions,
  ): Promise<ModelRuntime>;
  /** Downloads model updates resumably (`modelDir`); absent where there is no file system (browsers). */
  modelDownloads?(settings: DeviceSettings): ModelFiles;
  /** Opens the durable queue of `offline: { store: 'file' }`; absent where there is no file system (browsers). */
  openDurableQueue?(settings: DurableStoreSettings): DurableQueue;
}

const RUNTIME_CHOICES = ['auto', 'node', 'web'];
const CONFIG_OPTION = 'connectDevice option "config"';

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
  if (settings.store && !platform.openDurableQueue) {
    throw new FoglineError(
      'INVALID_ARG',
      "connectDevice: offline store 'file' is Node only; use 'local' or 'queue'",
    );
  }
  const config = await configOf(platform, options, source);
  const policy = policyOf(options, config);
  const runtime =
    typeof runtimeOption === 'object'
      ? runtimeOption
      : await platform.createRuntime(
          runtimeOption,
          { bytes: await platform.loadModelBytes(source) },
          options.web,
        );
  let device: Device;
  let store: DurableQueue | undefined;
  try {
    store = settings.store && platform.openDurableQueue?.(settings.store);
    const model = resolveDeviceModel({
      config,
      runtime,
      model: String(source),
      inputShape: settings.inputShape,
      defaultInputShape: DEVICE_DEFAULTS.inputShape,
    });
    const modelVersion = modelVersionOf(source);
    // A runtime object of the application's cannot be reloaded: no updates then.
    const load = typeof runtimeOption === 'object' ? undefined : loader(platform, options, runtimeOption);
    const files = platform.modelDownloads?.(settings);
    device = new Device({
      settings,
      runtime,
      policy,
      model,
      modelVersion,
      store,
      ...(load && { load }),
      ...(files && { files }),
    });
  } catch (err) {
    store?.close();
    await runtime.close();
    throw err;
  }
  try {
    await device.ready();
  } catch (err) {
    await device.close();
    throw err;
  }
  return device;
}

/** The policy a model starts with: the `policy` option, else its config's, else the default. */
function policyOf(options: ConnectDeviceOptions, config: LocatedConfig | undefined): DevicePolicy {
  return {
    ...resolvePolicy(options.policy ?? config?.config.routing ?? DEFAULT_POLICY),
    source: options.policy !== undefined ? 'option' : config !== undefined ? 'config' : 'default',
  };
}

/** Loads a model update the way connect loaded the first model (model-updater.ts). */
function loader(
  platform: DevicePlatform,
  options: ConnectDeviceOptions,
  choice: 'auto' | 'node' | 'web',
): ModelUpdaterOptions['load'] {
  return async (bytes, configText, ref) => {
    const config = configText && {
      config: configFromText(configText.text, configText.file, ref.model),
      file: configText.file,
    };
    const runtime = await platform.createRuntime(choice, { bytes }, options.web);
    try {
      const model = resolveDeviceModel({
        config,
        runtime,
        model: `${ref.model}:${ref.version}`,
        inputShape: config ? undefined : options.inputShape,
        defaultInputShape: DEVICE_DEFAULTS.inputShape,
      });
      const modelVersion = `${ref.model}:${ref.version}`;
      return { runtime, model, modelVersion, policy: policyOf(options, config) };
    } catch (err) {
      await runtime.close();
      throw err;
    }
  };
}

/** The `config` option (validated like a config.json), else the config.json beside the model. */
async function configOf(
  platform: DevicePlatform,
  options: ConnectDeviceOptions,
  source: string | URL,
): Promise<LocatedConfig | undefined> {
  if (options.config !== undefined) {
    const name = (options.config as { name?: unknown }).name;
    const config = parseModelConfig(options.config, CONFIG_OPTION, typeof name === 'string' ? name : '');
    return { config, file: CONFIG_OPTION };
  }
  return platform.loadConfigNextTo(source);
}
