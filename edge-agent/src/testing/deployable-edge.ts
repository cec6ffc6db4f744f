/**
 * The options of an edge agent that takes deployments from a real cloud (tests and the rollout
 * bench): digits-mid served, digits-tiny for its devices, the cloud's HTTP and broker, an embedded
 * broker on 127.0.0.1 port 0 whose publish and report limits never get in a load's way.
 */
import type { EdgeAgentOptions } from '../agent-options.ts';

export interface DeployableEdge {
  readonly edgeId: string;
  readonly token: string;
  /** The cloud's HTTP base URL (or a proxy in front of it). */
  readonly cloudUrl: string;
  readonly cloudBrokerUrl: string;
  readonly cloudModel: string;
  readonly dataDir: string;
  readonly warn?: (line: string) => void;
}

export function deployableEdgeOptions(e: DeployableEdge): EdgeAgentOptions {
  const unlimited = { ratePerSec: 10_000, burst: 10_000 };
  return {
    edgeId: e.edgeId,
    token: e.token,
    cloudUrl: e.cloudUrl,
    cloudBrokerUrl: e.cloudBrokerUrl,
    cloudModel: e.cloudModel,
    model: 'digits-mid',
    deviceModel: 'digits-tiny:1',
    localBroker: {
      kind: 'embedded',
      host: '127.0.0.1',
      mqttPort: 0,
      publishRate: unlimited,
      reportRate: unlimited,
    },
    dataDir: e.dataDir,
    workers: 1,
    intraOpThreads: 1,
    deploymentDownload: { idleTimeoutMs: 10_000, attempts: 4, backoffMs: 100 },
    logger: { info: () => {}, warn: e.warn ?? (() => {}) },
  };
}
