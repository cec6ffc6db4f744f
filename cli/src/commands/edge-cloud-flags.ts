/**
 * `fogline edge`'s cloud flags (docs/edge-agent.md "Several cloud URLs"): the cloud gateway and the
 * cloud broker, each one URL or the comma-separated URLs of the cloud's replicas, the preferred first,
 * and how the edge moves between them.
 */
import { AGENT_DEFAULTS, AGENT_RULES } from '@fogline/edge-agent';
import type { Command } from 'commander';
import { numberOption, urlListFlag } from '../flags.ts';

export interface CloudFlags {
  cloud: string | readonly string[];
  cloudBroker?: string | readonly string[];
  cloudProbeIntervalMs: number;
  cloudBrokerFailoverMs: number;
  cloudBrokerFailbackMs: number;
}

export function addCloudFlags(command: Command): Command {
  return command
    .requiredOption(
      '--cloud <url[,url...]>',
      'cloud gateway URL, e.g. http://cloud:8000; several (replicas): the first is preferred, the next takes over when one fails',
      urlListFlag('--cloud', AGENT_RULES.cloudUrl),
    )
    .option(
      '--cloud-broker <url[,url...]>',
      'cloud MQTT broker, e.g. mqtt://cloud:1883 (status, telemetry, device list); several: as --cloud',
      urlListFlag('--cloud-broker', AGENT_RULES.cloudBrokerUrl),
    )
    .addOption(
      numberOption(
        '--cloud-probe-interval-ms <ms>',
        'with several --cloud URLs: how often a failed one is probed at /v2/health/ready to take it back',
        AGENT_RULES.cloudProbeIntervalMs,
        AGENT_DEFAULTS.cloudProbeIntervalMs,
      ),
    )
    .addOption(
      numberOption(
        '--cloud-broker-failover-ms <ms>',
        'with several --cloud-broker URLs: how long the link may be down before the next URL is tried',
        AGENT_RULES.cloudBrokerFailoverMs,
        AGENT_DEFAULTS.cloudBrokerFailoverMs,
      ),
    )
    .addOption(
      numberOption(
        '--cloud-broker-failback-ms <ms>',
        'linked to a later --cloud-broker URL: how often the first is tried again',
        AGENT_RULES.cloudBrokerFailbackMs,
        AGENT_DEFAULTS.cloudBrokerFailbackMs,
      ),
    );
}

export function cloudOptionsOf(flags: CloudFlags) {
  return {
    cloudUrl: flags.cloud,
    cloudBrokerUrl: flags.cloudBroker,
    cloudProbeIntervalMs: flags.cloudProbeIntervalMs,
    cloudBrokerFailoverMs: flags.cloudBrokerFailoverMs,
    cloudBrokerFailbackMs: flags.cloudBrokerFailbackMs,
  };
}
