/**
 * Wires the device model service of an edge (device-model-service.ts) to its broker, registry and
 * device file listener; edge-agent.ts calls `startDeviceModels` once its local broker is up.
 */
import { hostname } from 'node:os';
import { topics } from '@fogline/shared';
import type { ResolvedAgentOptions } from '../agent-options.ts';
import type { CloudTier } from '../cloud-tier.ts';
import type { DeviceRegistry } from '../device-registry.ts';
import type { LocalBus } from '../local-bus.ts';
import { type DeviceFileServer, startDeviceFileServer } from './device-file-server.ts';
import { DeviceModelService } from './device-model-service.ts';

export interface EdgeDeviceModels {
  readonly service: DeviceModelService;
  readonly files: DeviceFileServer | undefined;
  close(): Promise<void>;
}

const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '']);

export async function startDeviceModels(
  config: ResolvedAgentOptions,
  registry: DeviceRegistry,
  bus: LocalBus,
  cloud: CloudTier | undefined,
): Promise<EdgeDeviceModels> {
  let baseUrl: string | undefined;
  const service = new DeviceModelService({
    edgeId: config.edgeId,
    dataDir: config.dataDir,
    store:
      cloud === undefined
        ? undefined
        : {
            cloudUrl: () => cloud.replicas.activeUrl,
            edgeId: config.edgeId,
            token: config.token,
            ...(config.cloudCa !== undefined && { ca: config.cloudCa }),
          },
    publish: (payload) => bus.publish(topics.deviceModel(config.edgeId), payload, { retain: true }),
    baseUrl: () => baseUrl,
    logger: config.logger,
    retry: config.deviceModelRetry,
  });
  const options = config.deviceFiles;
  const files =
    options &&
    (await startDeviceFileServer(
      options,
      (id, token) => registry.verify(id, token),
      () => service.served(),
    ));
  if (options && files) {
    const host = WILDCARD_HOSTS.has(files.host) ? hostname() : files.host;
    baseUrl = options.publicUrl ?? `http://${host.includes(':') ? `[${host}]` : host}:${files.port}`;
  }
  await service.restore();
  const close = async () => {
    service.close();
    await files?.close();
  };
  return { service, files, close };
}
