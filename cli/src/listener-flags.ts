/**
 * Flags bounding slow clients and connection counts (docs/operations.md "Slow clients and caps"):
 * the cloud's HTTP listener and the MQTT brokers of the cloud and of an edge.
 */
import { CLOUD_RULES, type CloudOptions, DEFAULT_CLOUD_OPTIONS } from '@fogline/cloud';
import { BROKER_DEFAULTS, BROKER_RULES } from '@fogline/shared/broker';
import type { Command } from 'commander';
import { numberFlag, numberOption } from './flags.ts';

export interface BrokerCapFlags {
  mqttConnectTimeoutMs?: number;
  mqttMaxConnections?: number;
}

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
    );
}

/** The broker options the flags set (only those given). */
export function brokerCapsOf(flags: BrokerCapFlags): { connectTimeoutMs?: number; maxConnections?: number } {
  return {
    ...(flags.mqttConnectTimeoutMs !== undefined && { connectTimeoutMs: flags.mqttConnectTimeoutMs }),
    ...(flags.mqttMaxConnections !== undefined && { maxConnections: flags.mqttMaxConnections }),
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
