/**
 * The cloud tier as the edge uses it: the OIP client, the circuit breaker in front of it, the
 * running estimate of how much budget a round trip needs, and what the cloud model's tensors are.
 */
import type { TierModel } from '@fogline/shared';
import type { ResolvedAgentOptions } from './agent-options.ts';
import { CloudBreaker } from './cloud-breaker.ts';
import { CloudBudget } from './cloud-budget.ts';
import { CloudClient } from './cloud-client.ts';
import { CloudModelLink } from './cloud-model.ts';
import type { EdgeTelemetry } from './edge-telemetry.ts';

export interface CloudTier {
  readonly client: CloudClient;
  readonly breaker: CloudBreaker;
  readonly budget: CloudBudget;
  /** The cloud model's metadata, checked against the edge model's (wire.md). */
  readonly model: CloudModelLink;
}

export function createCloudTier(
  config: ResolvedAgentOptions & { cloudUrl: string },
  telemetry: EdgeTelemetry,
  edgeModel: TierModel,
): CloudTier {
  const breaker = new CloudBreaker(config.breaker, (state) => {
    if (state === 'open') {
      telemetry.breakerOpens++;
      config.logger.warn('cloud breaker open: uncertain inputs are answered locally, degraded');
    } else config.logger.info(`cloud breaker ${state}`);
  });
  const client = new CloudClient({
    baseUrl: config.cloudUrl,
    token: config.token,
    edgeId: config.edgeId,
    model: config.cloudModel,
    maxSockets: config.cloudConnections,
    ...(config.cloudCa !== undefined && { ca: config.cloudCa }),
  });
  return {
    client,
    breaker,
    budget: new CloudBudget({ minCloudBudgetMs: config.minCloudBudgetMs }),
    model: new CloudModelLink({
      client,
      edge: edgeModel,
      clock: config.clock,
      warn: (message) => config.logger.warn(message),
    }),
  };
}

export function closeCloudTier(tier: CloudTier): void {
  tier.client.close();
  tier.breaker.shutdown();
}
