/**
 * Flags bounding slow clients and connection counts (docs/operations.md "Slow clients and caps"):
 * the cloud's HTTP listener and the MQTT brokers of the cloud and of an edge.
 */
import { CLOUD_RULES, type CloudOptions, DEFAULT_CLOUD_OPTIONS } from '@fogline/cloud';
import { intAtLeast } from '@fogline/shared';
import { BROKER_DEFAULTS, BROKER_RULES, type BrokerOptions, FAILURE_RULES } from '@fogline/shared/broker';
import { AUTH_THROTTLE_DEFAULTS } from '@fogline/shared/secrets';
import type { Command } from 'commander';
import { numberFlag, numberOption } from './flags.ts';

export interface BrokerCapFlags {
  mqttConnectTimeoutMs?: number;
  mqttMaxConnections?: number;
  authFailRate?: number;
  authFailBurst?: number;
  authIdFailDelayMs?: number;
}

const AUTH = AUTH_THROTTLE_DEFAULTS;

export interface HttpLimitFlags {
  httpHeadersTimeoutMs: number;
  httpRequestTimeoutMs: number;
  httpMaxConnections: number;
}

export function addBrokerCaps(command: Command): Command {
  return command
    .option(
      '--mqtt-connect-timeout-ms <ms>',
      `time a new MQTT connection has for its TLS handshake and its CONNECT (default ${BROKER_DEFAULTS.connectTimeoutMs})`,
      numberFlag('--mqtt-connect-timeout-ms', BROKER_RULES.connectTimeoutMs),
    )
    .option(
      '--mqtt-max-connections <n>',
      `MQTT sockets open at once per listener, authenticated or not (default ${BROKER_DEFAULTS.maxConnections})`,
      numberFlag('--mqtt-max-connections', BROKER_RULES.maxConnections),
    )
    .option(
      '--auth-fail-rate <n/s>',
      `failed authentications forgiven per second per source address, HTTP and MQTT together; past the burst an address is refused (429, CONNACK 3) without a lookup (default ${AUTH.perAddress.ratePerSec})`,
      numberFlag('--auth-fail-rate', FAILURE_RULES.ratePerSec),
    )
    .option(
      '--auth-fail-burst <n>',
      `failed authentications a source address may make at once (default ${AUTH.perAddress.burst})`,
      numberFlag('--auth-fail-burst', FAILURE_RULES.burst),
    )
    .option(
      '--auth-id-fail-delay-ms <ms>',
      `past ${AUTH.perId.burst} failures on one edge or device id (forgiven ${AUTH.perId.ratePerSec}/s), each further wrong token is answered this late; a right one never is (default ${AUTH.idFailureDelayMs})`,
      numberFlag('--auth-id-fail-delay-ms', intAtLeast(0)),
    );
}

/** The broker options the flags set (only those given). */
export function brokerCapsOf(
  flags: BrokerCapFlags,
): Pick<BrokerOptions, 'connectTimeoutMs' | 'maxConnections' | 'authFailures'> {
  const { authFailRate, authFailBurst, authIdFailDelayMs } = flags;
  const perAddress = (authFailRate ?? authFailBurst) !== undefined;
  const authFailures = {
    ...(perAddress && {
      perAddress: {
        ratePerSec: authFailRate ?? AUTH.perAddress.ratePerSec,
        burst: authFailBurst ?? AUTH.perAddress.burst,
      },
    }),
    ...(authIdFailDelayMs !== undefined && { idFailureDelayMs: authIdFailDelayMs }),
  };
  return {
    ...(flags.mqttConnectTimeoutMs !== undefined && { connectTimeoutMs: flags.mqttConnectTimeoutMs }),
    ...(flags.mqttMaxConnections !== undefined && { maxConnections: flags.mqttMaxConnections }),
    ...(Object.keys(authFailures).length > 0 && { authFailures }),
  };
}

export function addHttpLimits(command: Command): Command {
  const d = DEFAULT_CLOUD_OPTIONS.http;
  const r = CLOUD_RULES.http;
  return command
    .addOption(
      numberOption(
        '--http-headers-timeout-ms <ms>',
        "a request's line and headers must arrive within this of its first byte",
        r.headersTimeoutMs,
        d.headersTimeoutMs,
      ),
    )
    .addOption(
      numberOption(
        '--http-request-timeout-ms <ms>',
        'a whole request (headers and body) must arrive within this of its first byte',
        r.requestTimeoutMs,
        d.requestTimeoutMs,
      ),
    )
    .addOption(
      numberOption(
        '--http-max-connections <n>',
        'HTTP sockets open at once (MQTT over WebSocket included)',
        r.maxConnections,
        d.maxConnections,
      ),
    );
}

export function httpLimitsOf(flags: HttpLimitFlags): CloudOptions['http'] {
  return {
    headersTimeoutMs: flags.httpHeadersTimeoutMs,
    requestTimeoutMs: flags.httpRequestTimeoutMs,
    maxConnections: flags.httpMaxConnections,
  };
}
