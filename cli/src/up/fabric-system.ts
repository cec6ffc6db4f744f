/**
 * The whole fogline system in one process for `fogline up`: the cloud (HTTP + broker + PGlite), one
 * edge agent with its local broker, and N device identities, all authenticated for real through the
 * cloud's admin API. Simulated devices are started separately (device-simulator.ts).
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CloudAdminClient, type CloudOptions, CloudServer } from '@fogline/cloud';
import { createEdgeAgent, type EdgeAgent } from '@fogline/edge-agent';
import { FoglineError } from '@fogline/shared';
import type { SimulatedDeviceSpec } from './device-simulator.ts';
import { preferPort } from './free-port.ts';

export interface FabricSystemOptions {
  /** The cloud's controller (`--controller`, ...). */
  controller?: CloudOptions['controller'];
  dataDir: string;
  modelsDir: string;
  host: string;
  httpPort: number;
  mqttPort: number;
  edgeMqttPort: number;
  edgeId: string;
  edgeModel: string;
  /** `name:version` of the simulated devices' model (for the policies the edge publishes). */
  deviceModel?: string;
  /** The cloud model the edge escalates to. */
  cloudModel: string;
  devices: number;
  /** Per-device publish budget on the edge broker (the simulator's rate plus headroom). */
  devicePublishRate: number;
  say: (line: string) => void;
}

export interface FabricSystem {
  cloud: CloudServer;
  edge: EdgeAgent;
  edgeBrokerUrl: string;
  devices: SimulatedDeviceSpec[];
  urls: Record<string, string>;
  stop(): Promise<void>;
}

export async function startFabricSystem(o: FabricSystemOptions): Promise<FabricSystem> {
  const ports = {
    http: await preferPort(o.httpPort, o.host),
    mqtt: await preferPort(o.mqttPort, o.host),
    edge: await preferPort(o.edgeMqttPort, o.host),
  };
  for (const [name, flag, p, wanted] of [
    ['cloud HTTP', '--http-port', ports.http, o.httpPort],
    ['cloud MQTT', '--mqtt-port', ports.mqtt, o.mqttPort],
    ['edge MQTT', '--edge-mqtt-port', ports.edge, o.edgeMqttPort],
  ] as const) {
    if (p.moved) o.say(`${name} port ${wanted} is taken: using a free port instead (set ${flag} to choose)`);
  }

  const cloud = new CloudServer({
    httpPort: ports.http.port,
    mqttPort: ports.mqtt.port,
    host: o.host,
    dataDir: join(o.dataDir, 'cloud'),
    modelsDir: o.modelsDir,
    cloudModel: o.cloudModel,
    ...(o.controller && { controller: o.controller }),
  });
  const ready = await cloud.start();
  let edge: EdgeAgent | undefined;
  try {
    const admin = new CloudAdminClient({ url: ready.http.url, adminToken: ready.adminToken.token });
    const edgeCredential = await enrol(
      () => admin.createEdge(o.edgeId),
      () => admin.revokeEdge(o.edgeId),
    );
    const devices: SimulatedDeviceSpec[] = [];
    for (let i = 1; i <= o.devices; i++) {
      const id = `${o.edgeId}-dev-${String(i).padStart(2, '0')}`;
      const cred = await enrol(
        () => admin.createDevice(id, o.edgeId),
        () => admin.revokeDevice(id),
      );
      devices.push({ id, token: cred.token });
    }
    const mqttPort = ready.mqtt.port;
    if (mqttPort === null) throw new FoglineError('INTERNAL', 'the cloud started without its MQTT broker');
    // The identities were just (re-)enrolled with new tokens: a device list cached by an earlier run
    // would refuse them until the fresh one arrives, so the edge starts from the cloud's list.
    await rm(join(o.dataDir, 'edge'), { recursive: true, force: true });
    edge = createEdgeAgent({
      edgeId: o.edgeId,
      token: edgeCredential.token,
      cloudUrl: ready.http.url,
      cloudBrokerUrl: `mqtt://127.0.0.1:${mqttPort}`,
      localBroker: {
        kind: 'embedded',
        host: o.host,
        mqttPort: ports.edge.port,
        publishRate: { ratePerSec: o.devicePublishRate, burst: Math.ceil(o.devicePublishRate * 2) },
      },
      dataDir: join(o.dataDir, 'edge'),
      modelsDir: o.modelsDir,
      model: o.edgeModel,
      cloudModel: o.cloudModel,
      ...(o.deviceModel !== undefined && { deviceModel: o.deviceModel }),
    });
    const info = await edge.start();
    const edgePort = info.localBroker.mqttPort;
    if (edgePort === undefined)
      throw new FoglineError('INTERNAL', 'the edge started without its local broker');
    await waitFor(
      () => (edge?.deviceListVersion ?? -1) >= 0,
      10_000,
      'the edge did not receive its device list',
    );
    const edgeBrokerUrl = `mqtt://127.0.0.1:${edgePort}`;
    const running = edge;
    return {
      cloud,
      edge: running,
      edgeBrokerUrl,
      devices,
      urls: {
        'cloud HTTP': ready.http.url,
        'OIP infer': `${ready.http.url}/v2/models/${o.cloudModel}/infer`,
        metrics: `${ready.http.url}/metrics`,
        'cloud MQTT': `mqtt://127.0.0.1:${mqttPort}`,
        'edge MQTT': edgeBrokerUrl,
        'admin token': join(o.dataDir, 'cloud', 'admin-token'),
      },
      async stop() {
        await running.stop();
        await cloud.stop();
      },
    };
  } catch (err) {
    await edge?.stop().catch(() => {});
    await cloud.stop();
    throw err;
  }
}

/** Creates an identity; one left from an earlier run is revoked and enrolled again with a new token. */
async function enrol<T>(create: () => Promise<T>, revoke: () => Promise<unknown>): Promise<T> {
  try {
    return await create();
  } catch (err) {
    if (!(err instanceof FoglineError) || err.code !== 'ALREADY_EXISTS') throw err;
    await revoke();
    return create();
  }
}

async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new FoglineError('UNAVAILABLE', `${what} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
