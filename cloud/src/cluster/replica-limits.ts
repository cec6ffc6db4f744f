/**
 * The limits the replicas of a clustered cloud enforce together (docs/scale-out.md "Shared state"):
 * the edges' and the API keys' request rates (shared-token-buckets.ts) and the failed-authentication
 * budgets HTTP and the broker share (shared-auth-budgets.ts). Without a cluster, nothing here: each
 * part keeps its own buckets in memory, as one process always did.
 */
import type { TokenBuckets } from '@fogline/shared';
import { AuthThrottle, type AuthThrottleOptions } from '@fogline/shared/secrets';
import type { Cluster } from './cluster.ts';
import { sharedAuthBudgets } from './shared-auth-budgets.ts';
import { SharedTokenBuckets } from './shared-token-buckets.ts';

export interface ReplicaLimits {
  /** Each edge's HTTP request rate (`--edge-rate`, `--edge-burst`). */
  readonly edges?: TokenBuckets;
  /** Each API key's request rate. */
  readonly apiKeys?: TokenBuckets;
  /** The failed-authentication budgets, for the broker and HTTP alike. */
  readonly authThrottle?: AuthThrottle;
}

export function replicaLimits(
  cluster: Cluster | undefined,
  authFailures: Omit<AuthThrottleOptions, 'clock' | 'share'> | undefined,
  log: (line: string) => void,
): ReplicaLimits {
  if (!cluster) return {};
  return {
    edges: new SharedTokenBuckets(cluster, { name: 'edge', log }),
    apiKeys: new SharedTokenBuckets(cluster, { name: 'api-key', log }),
    authThrottle: new AuthThrottle({ ...authFailures, share: sharedAuthBudgets(cluster, { log }) }),
  };
}
