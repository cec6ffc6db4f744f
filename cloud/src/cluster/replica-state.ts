/**
 * What the replicas of a clustered cloud keep together in Redis (docs/scale-out.md "Shared state"):
 * the edges' and the API keys' request rates (shared-token-buckets.ts), the failed-authentication
 * budgets HTTP and the broker share (shared-auth-budgets.ts), and each edge's desired-state sequence
 * (desired-state-ledger.ts). Without a cluster, nothing here: each part keeps its own in memory, as
 * one process always did. (The controller and the deployments agree through PostgreSQL leases.)
 */
import type { TokenBuckets } from '@fogline/shared';
import { AuthThrottle, type AuthThrottleOptions } from '@fogline/shared/secrets';
import type { DesiredStateLedger } from '../fabric/desired-state-publisher.ts';
import type { Cluster } from './cluster.ts';
import { RedisDesiredStateLedger } from './desired-state-ledger.ts';
import { sharedAuthBudgets } from './shared-auth-budgets.ts';
import { SharedTokenBuckets } from './shared-token-buckets.ts';

export interface ReplicaState {
  /** Each edge's HTTP request rate (`--edge-rate`, `--edge-burst`). */
  readonly edges?: TokenBuckets;
  /** Each API key's request rate. */
  readonly apiKeys?: TokenBuckets;
  /** The failed-authentication budgets, for the broker and HTTP alike. */
  readonly authThrottle?: AuthThrottle;
  /** Each edge's desired-state lock, version sequence and latest message. */
  readonly desiredStates?: DesiredStateLedger;
}

export function replicaState(
  cluster: Cluster | undefined,
  authFailures: Omit<AuthThrottleOptions, 'clock' | 'share'> | undefined,
  log: (line: string) => void,
): ReplicaState {
  if (!cluster) return {};
  // Under this cloud's `--redis-key-prefix`, as the broker's keys: two clouds on one Redis never meet.
  const prefix = `${cluster.keyPrefix}bucket:`;
  return {
    edges: new SharedTokenBuckets(cluster, { name: 'edge', prefix, log }),
    apiKeys: new SharedTokenBuckets(cluster, { name: 'api-key', prefix, log }),
    authThrottle: new AuthThrottle({ ...authFailures, share: sharedAuthBudgets(cluster, { prefix, log }) }),
    desiredStates: new RedisDesiredStateLedger(cluster, { prefix: `${cluster.keyPrefix}desired:`, log }),
  };
}
