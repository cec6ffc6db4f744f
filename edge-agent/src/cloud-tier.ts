/**
 * The cloud tier as the edge uses it: the OIP client, the circuit breaker in front of it, and the
 * running estimate of how much budget a round trip needs.
 */
import type { ResolvedAgentOptions } from './agent-options.ts';
import { CloudBreaker } from './cloud-breaker.ts';
import { CloudBudget } from './cloud-budget.ts';
import { CloudClient } from './cloud-client.ts';
import type { EdgeTelemetry } from './edge-telemetry.ts';

export interface CloudTier {
  readonly client: CloudClient;
  readonly breaker: CloudBreaker;
  readonly budget: CloudBudget;
}

export function createCloudTier(
  config: ResolvedAgentOptions & { cloudUrl: string },
  telemetry: EdgeTelemetry,
): CloudTier {
  const breaker = new CloudBreaker(config.breaker, (state) => {
    if (state === 'open') {
      telemetry.breakerOpens++;
      config.logger.warn('cloud breaker open: uncertain inputs are answered locally, degraded');
    } else config.logger.info(`cloud breaker ${state}`);
  });
  return {
    client: new CloudClient({
      baseUrl: config.cloudUrl,
      token: config.token,
      edgeId: config.edgeId,
      model: config.cloudModel,
      maxSockets: config.cloudConnections,
    }),
    breaker,
    budget: new CloudBudget({ minCloudBudgetMs: config.minCloudBudgetMs }),
  };
}

export function closeCloudTier(tier: CloudTier): void {
  tier.client.close();
  tier.breaker.shutdown();
}
