/**
 * The flags that make `fogline cloud` one replica of several (docs/scale-out.md): the Redis they
 * share, what this cloud's keys start with there, how often each replica says it is alive. Checked by
 * the cloud's own option rules.
 */
import { CLOUD_RULES, type CloudOptions, DEFAULT_CLOUD_OPTIONS } from '@fogline/cloud';
import { type Command, Option } from 'commander';
import { numberOption, textFlag } from './flags.ts';

export interface ClusterFlags {
  redisUrl?: string;
  redisKeyPrefix: string;
  replicaHeartbeatMs: number;
}

export function withClusterFlags(cmd: Command): Command {
  const d = DEFAULT_CLOUD_OPTIONS;
  return cmd
    .addOption(
      new Option(
        '--redis-url <url>',
        'Redis shared by the replicas of one cloud: broker messages and sessions, rate limits, edge presence (docs/scale-out.md); default: one process',
      ).env('FOGLINE_REDIS_URL'),
    )
    .addOption(
      new Option(
        '--redis-key-prefix <prefix>',
        'what the keys and channels of this cloud start with in that Redis: one per cloud, the same on all its replicas',
      )
        .argParser(textFlag('--redis-key-prefix', CLOUD_RULES.redisKeyPrefix))
        .default(d.redisKeyPrefix)
        .env('FOGLINE_REDIS_KEY_PREFIX'),
    )
    .addOption(
      numberOption(
        '--replica-heartbeat-ms <ms>',
        "with --redis-url: how often each replica says it is alive; one silent for 3 of these is dead, its edges offline and its clients' wills sent",
        CLOUD_RULES.replicaHeartbeatMs,
        d.replicaHeartbeatMs,
      ),
    );
}

export function clusterOptions(
  flags: ClusterFlags,
): Pick<CloudOptions, 'redisUrl' | 'redisKeyPrefix' | 'replicaHeartbeatMs'> {
  return {
    redisUrl: flags.redisUrl,
    redisKeyPrefix: flags.redisKeyPrefix,
    replicaHeartbeatMs: flags.replicaHeartbeatMs,
  };
}
