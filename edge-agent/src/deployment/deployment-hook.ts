/**
 * Wires deployments into a starting edge agent (docs/edge-agent.md "Deployments"): which model it
 * serves at start (the last deployed version outranks `--model`), the deployer, and where reported
 * states go — the cloud broker, or `POST .../reported` when there is none.
 */
import type { ModelEntry, ModelRepository } from '@fogline/shared/model-repository';
import type { ResolvedAgentOptions } from '../agent-options.ts';
import type { CloudLink } from '../cloud-link.ts';
import type { CloudTier } from '../cloud-tier.ts';
import type { ReportedState } from '../device-sync.ts';
import { EdgeModel } from '../edge-model.ts';
import { ReportedPoster } from '../reported-poster.ts';
import { Deployer } from './deployer.ts';
import { type DeploymentRecord, loadDeploymentRecord } from './deployment-record.ts';
import { DOWNLOAD_DEFAULTS } from './model-download.ts';
import type { ModelSlot } from './model-slot.ts';
import { deployedAtStart } from './serving-at-start.ts';

/** Longest a reported-state post may take, ms. */
const REPORT_TIMEOUT_MS = 10_000;

export interface ServingAtStart {
  readonly entry: ModelEntry;
  /** Undefined: the entry's latest. */
  readonly version: number | undefined;
  readonly record: DeploymentRecord;
}

export async function servingAtStart(
  config: ResolvedAgentOptions,
  repository: ModelRepository,
): Promise<ServingAtStart> {
  const record = await loadDeploymentRecord(config.dataDir, (m) => config.logger.warn(m));
  const deployed = await deployedAtStart(config.dataDir, record, config.model, config.logger);
  if (deployed) return { entry: deployed, version: deployed.latestVersion, record };
  return { entry: repository.get(config.model), version: config.modelVersion, record };
}

export interface Deployments {
  readonly deployer: Deployer;
  /** Sends a reported state on the cloud broker, or over HTTP when the edge has none. */
  readonly report: (state: ReportedState) => void;
}

export function startDeployments(o: {
  config: ResolvedAgentOptions;
  slot: ModelSlot;
  cloud: CloudTier | undefined;
  record: DeploymentRecord;
  /** The cloud link, once it exists. */
  link: () => CloudLink | undefined;
  /** The reported state now (device-sync.ts). */
  reported: () => ReportedState;
}): Deployments {
  const { config, cloud } = o;
  const poster =
    cloud && config.cloudBrokerUrls.length === 0
      ? new ReportedPoster(
          (body) => cloud.replicas.call((c) => c.postReported(body, REPORT_TIMEOUT_MS)),
          (m) => config.logger.warn(m),
        )
      : undefined;
  const report = (state: ReportedState) => {
    o.link()?.publishReported(state);
    poster?.send(state);
  };
  const deployer = new Deployer({
    dataDir: config.dataDir,
    slot: o.slot,
    // Each attempt (a config read, a download resumed with Range + If-Range) goes to the replica
    // usable then; their ETag is the file's sha256, the same on every replica.
    source: cloud && {
      modelConfig: (model, version, timeoutMs) =>
        cloud.replicas.call((c) => c.modelConfig(model, version, timeoutMs)),
      openModelFile: (model, version, headers, signal) =>
        cloud.replicas.call((c) => c.openModelFile(model, version, headers, signal)),
    },
    // Beside the serving model, workers started one at a time; under `probe` its own probe (edge-model.ts).
    load: async (entry, version) => {
      const model = await EdgeModel.load({ ...config, entry, version, beside: o.slot.current });
      config.logger.info(model.sizingLine);
      return model;
    },
    record: o.record,
    download: { ...DOWNLOAD_DEFAULTS, ...config.deploymentDownload },
    report: () => report(o.reported()),
    logger: config.logger,
  });
  return { deployer, report };
}

/**
 * device-sync's hook for a desired state's `deployment` block: the edge's own model (the deployer)
 * and its devices' (device-models/, which reads the block's `device` file). Neither is awaited.
 */
export function deploymentHook(
  deployer: Deployer,
  devices: () => { receive(raw: unknown): Promise<void> | undefined } | undefined,
): { receive(raw: unknown): void; status: Deployer['status'] } {
  return {
    receive: (raw) => {
      deployer.receive(raw);
      void devices()?.receive(raw);
    },
    status: () => deployer.status(),
  };
}
