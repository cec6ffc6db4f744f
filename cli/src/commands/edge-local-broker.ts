/**
 * Which local broker `fogline edge`'s flags ask for: the embedded one (ports, TLS, caps, device rate)
 * or an external one (URL and credentials); flags of the one kind are refused with the other.
 */
import type { LocalBrokerOptions } from '@fogline/edge-agent';
import type { Command } from 'commander';
import { type BrokerCapFlags, brokerCapsOf } from '../listener-flags.ts';
import { serverTlsFiles, type TrustFlags } from '../trust-flags.ts';

export interface LocalBrokerFlags extends TrustFlags, BrokerCapFlags {
  mqttPort: number;
  wsPort?: number;
  host: string;
  devicePublishRate?: number;
  broker?: string;
  brokerUsername?: string;
  brokerPassword?: string;
}

const EMBEDDED_ONLY = {
  mqttPort: '--mqtt-port',
  wsPort: '--ws-port',
  devicePublishRate: '--device-publish-rate',
  tlsCert: '--tls-cert',
  tlsKey: '--tls-key',
  mqttConnectTimeoutMs: '--mqtt-connect-timeout-ms',
  mqttMaxConnections: '--mqtt-max-connections',
  authFailRate: '--auth-fail-rate',
  authFailBurst: '--auth-fail-burst',
  authIdFailDelayMs: '--auth-id-fail-delay-ms',
};

export function localBrokerOf(flags: LocalBrokerFlags, command: Command): LocalBrokerOptions {
  if (flags.broker) {
    for (const [key, flag] of Object.entries(EMBEDDED_ONLY)) {
      if (command.getOptionValueSource(key) === 'cli') {
        command.error(`error: ${flag} configures the embedded broker; not with --broker`);
      }
    }
    return {
      kind: 'external',
      url: flags.broker,
      username: flags.brokerUsername,
      password: flags.brokerPassword ?? process.env.FOGLINE_BROKER_PASSWORD,
    };
  }
  if (flags.brokerUsername !== undefined || flags.brokerPassword !== undefined) {
    command.error('error: --broker-username/--broker-password need --broker');
  }
  return {
    kind: 'embedded',
    host: flags.host,
    mqttPort: flags.mqttPort,
    wsPort: flags.wsPort,
    tls: serverTlsFiles(flags),
    ...brokerCapsOf(flags),
    ...(flags.devicePublishRate !== undefined && {
      publishRate: { ratePerSec: flags.devicePublishRate, burst: 2 * flags.devicePublishRate },
    }),
  };
}
