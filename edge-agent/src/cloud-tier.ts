/**
 * The cloud tier as the edge uses it: its replicas (one OIP client and one circuit breaker per cloud
 * URL, cloud-replicas.ts), the running estimate of how much budget a round trip needs, and what the
 * cloud model's tensors are.
 */
import type { TierModel } from '@fogline/shared';
import type { ResolvedAgentOptions } from './agent-options.ts';
import { CloudBudget } from './cloud-budget.ts';
import { CloudClient } from './cloud-client.ts';
import { CloudModelLink } from './cloud-model.ts';
import { CloudReplicas } from './cloud-replicas.ts';
import type { EdgeTelemetry } from './edge-telemetry.ts';

export interface CloudTier {
  /** The cloud's URLs in order of preference, each with its client and breaker. */
  readonly replicas: CloudReplicas;
  readonly budget: CloudBudget;
  /** The cloud model's metadata, checked against the edge model's (wire.md). */
  readonly model: CloudModelLink;
}

export function createCloudTier(
  config: ResolvedAgentOptions,
  urls: readonly string[],
  telemetry: EdgeTelemetry,
  edgeModel: TierModel,
): CloudTier {
  const { logger } = config;
  const replicas = new CloudReplicas({
    clients: urls.map(
      (baseUrl) =>
        new CloudClient({
          baseUrl,
          token: config.token,
          edgeId: config.edgeId,
          model: config.cloudModel,
          maxSockets: config.cloudConnections,
          ...(config.cloudCa !== undefined && { ca: config.cloudCa }),
        }),
    ),
    breaker: config.breaker,
    probeIntervalMs: config.cloudProbeIntervalMs,
    onChange: (state) => {
      if (state === 'open') {
        telemetry.breakerOpens++;
        logger.warn('cloud breaker open: uncertain inputs are answered locally, degraded');
      } else logger.info(`cloud breaker ${state}`);
    },
    onReplicaChange: (url, state) => {
      if (state === 'open') logger.warn(`cloud replica ${url}: breaker open, the next URL takes its calls`);
      else logger.info(`cloud replica ${url}: breaker ${state}`);
    },
  });
  return {
    replicas,
    budget: new CloudBudget({ minCloudBudgetMs: config.minCloudBudgetMs }),
    model: new CloudModelLink({
      model: replicas.model,
      edge: edgeModel,
      clock: config.clock,
      warn: (message) => config.logger.warn(message),
    }),
  };
}

export function closeCloudTier(tier: CloudTier): void {
  tier.replicas.close();
}
