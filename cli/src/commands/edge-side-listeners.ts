/**
 * `fogline edge`'s side HTTP listeners (docs/edge-agent.md "Metrics" and "Device models"): Prometheus
 * `/metrics`, and the file listener that serves the devices their model. Both are off unless a port
 * is given.
 */
import { DEVICE_FILES_RULES, type EdgeAgentOptions, LOCAL_BROKER_RULES } from '@fogline/edge-agent';
import type { Command } from 'commander';
import { numberFlag, textFlag } from '../flags.ts';

export interface SideListenerFlags {
  metricsPort?: number;
  metricsHost: string;
  deviceFilesPort?: number;
  deviceFilesHost: string;
  deviceFilesUrl?: string;
}

export function addSideListenerFlags(command: Command): Command {
  return command
    .option(
      '--metrics-port <port>',
      'serve Prometheus /metrics on this port (0 = any free port; default: off)',
      numberFlag('--metrics-port', LOCAL_BROKER_RULES.mqttPort),
    )
    .option(
      '--metrics-host <address>',
      'interface of /metrics; any but loopback needs a bearer token in $FOGLINE_METRICS_TOKEN',
      '127.0.0.1',
    )
    .option(
      '--device-files-port <port>',
      "serve the devices their model (a deployment's device model) over HTTP on this port (0 = any free port; default: off)",
      numberFlag('--device-files-port', DEVICE_FILES_RULES.port),
    )
    .option('--device-files-host <address>', 'interface of the device file listener', '0.0.0.0')
    .option(
      '--device-files-url <url>',
      'base URL devices reach that listener by (default: http://<host or hostname>:<port>)',
      textFlag('--device-files-url', DEVICE_FILES_RULES.publicUrl),
    );
}

export function sideListenersOf(flags: SideListenerFlags): Pick<EdgeAgentOptions, 'metrics' | 'deviceFiles'> {
  return {
    ...(flags.metricsPort !== undefined && {
      metrics: { port: flags.metricsPort, host: flags.metricsHost, token: process.env.FOGLINE_METRICS_TOKEN },
    }),
    ...(flags.deviceFilesPort !== undefined && {
      deviceFiles: {
        port: flags.deviceFilesPort,
        host: flags.deviceFilesHost,
        ...(flags.deviceFilesUrl !== undefined && { publicUrl: flags.deviceFilesUrl }),
      },
    }),
  };
}
