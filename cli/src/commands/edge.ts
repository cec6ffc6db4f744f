/**
 * `fogline edge`: runs an edge agent (local MQTT broker for the devices, mid model, escalation to the
 * cloud). stdout carries exactly one JSON line, once ready:
 * `{"event":"ready","edgeId":…,"model":…,"mqtt":{"port":…},"ws":{"port":…},…}`; logs go to stderr.
 */
import { createEdgeAgent, type EdgeAgentOptions, type LocalBrokerOptions } from '@fogline/edge-agent';
import { isValidId } from '@fogline/shared/core/fabric/index';
import { isScoreKind, type ScoreKind } from '@fogline/shared/core/routing/index';
import { DEFAULT_MODELS_DIR } from '@fogline/shared/model-repository/index';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { parsePort, parsePositiveInt } from '../format.ts';

interface EdgeFlags {
  id: string;
  token?: string;
  cloud: string;
  cloudBroker?: string;
  cloudModel: string;
  mqttPort: number;
  wsPort?: number;
  host: string;
  devicePublishRate?: number;
  broker?: string;
  brokerUsername?: string;
  brokerPassword?: string;
  dataDir: string;
  model: string;
  modelVersion?: number;
  models: string;
  routingScore?: ScoreKind;
  threshold?: number;
  workers?: number;
  intraOpThreads?: number;
  maxBatchSize?: number;
  maxQueueDelayMs?: number;
  maxQueueSize?: number;
  defaultDeadlineMs: number;
  minCloudBudgetMs: number;
  breakerErrorPercent: number;
  breakerVolume: number;
  breakerConsecutive: number;
  breakerResetMs: number;
  telemetryIntervalMs: number;
  deviceListPollMs: number;
  shutdownTimeoutMs: number;
  quiet?: boolean;
}

export function registerEdge(program: Command): void {
  program
    .command('edge')
    .description('run an edge agent: local MQTT broker for devices, mid model, escalation to the cloud')
    .requiredOption('--id <id>', 'edge id (as registered with `fogline edges add`)', parseId)
    .option('--token <token>', 'edge token (default: $FOGLINE_EDGE_TOKEN; prefer it, argv is visible to ps)')
    .requiredOption(
      '--cloud <url>',
      'cloud gateway URL, e.g. http://cloud:8000',
      parseUrl('--cloud', ['http:', 'https:']),
    )
    .option(
      '--cloud-broker <url>',
      'cloud MQTT broker, e.g. mqtt://cloud:1883 (status, telemetry, device list)',
      parseUrl('--cloud-broker', MQTT_SCHEMES),
    )
    .option('--cloud-model <name>', 'cloud model to escalate to', 'digits-large')
    .addOption(
      new Option('--mqtt-port <port>', 'local broker MQTT/TCP port (0 = any free port)')
        .argParser(parsePort('--mqtt-port'))
        .default(1883),
    )
    .option(
      '--ws-port <port>',
      'local broker MQTT-over-WebSocket port (path /mqtt; 0 = any free port)',
      parsePort('--ws-port'),
    )
    .option('--host <address>', 'interface the local broker binds', '0.0.0.0')
    .option(
      '--device-publish-rate <n>',
      'publishes per second allowed to each device on the local broker, burst 2n (default 50, burst 100)',
      parsePositiveInt('--device-publish-rate'),
    )
    .option(
      '--broker <url>',
      'use this external broker (e.g. Mosquitto) instead of the embedded one',
      parseUrl('--broker', MQTT_SCHEMES),
    )
    .option('--broker-username <name>', 'username on the external broker (default: the edge id)')
    .option(
      '--broker-password <secret>',
      'password on the external broker (default: $FOGLINE_BROKER_PASSWORD, else none; never the edge token)',
    )
    .requiredOption('--data-dir <dir>', 'state directory (device-list cache)')
    .option('--model <name>', 'edge model from the repository', 'digits-mid-int8')
    .option('--model-version <n>', 'model version (default: latest)', parsePositiveInt('--model-version'))
    .addOption(new Option('--models <dir>', 'model repository').default(DEFAULT_MODELS_DIR, '<repo>/models'))
    .option(
      '--routing-score <kind>',
      'override the routing score: maxprob, margin or entropy',
      parseScoreKind,
    )
    .option(
      '--threshold <x>',
      'override the routing threshold, 0..1 (answer locally when score >= x)',
      parseUnit,
    )
    .option(
      '--workers <n>',
      'onnxruntime sessions (default: one per core beyond the first, which the broker keeps)',
      parsePositiveInt('--workers'),
    )
    .option(
      '--intra-op-threads <n>',
      'onnxruntime threads per session (default 1)',
      parsePositiveInt('--intra-op-threads'),
    )
    .option('--max-batch-size <n>', 'override max_batch_size', parsePositiveInt('--max-batch-size'))
    .option(
      '--max-queue-delay-ms <ms>',
      'override dynamic_batching.max_queue_delay_ms',
      parseMs('--max-queue-delay-ms'),
    )
    .option(
      '--max-queue-size <n>',
      'override dynamic_batching.max_queue_size',
      parsePositiveInt('--max-queue-size'),
    )
    .addOption(msOption('--default-deadline-ms <ms>', 'budget of a request without deadline_ms', 1000))
    .addOption(msOption('--min-cloud-budget-ms <ms>', 'least remaining budget worth a cloud call', 10))
    .addOption(
      new Option(
        '--breaker-error-percent <pct>',
        'failure % in the rolling window that opens the cloud breaker',
      )
        .argParser(parsePercent)
        .default(50),
    )
    .addOption(
      new Option('--breaker-volume <n>', 'cloud calls in the window before the breaker may open')
        .argParser(parsePositiveInt('--breaker-volume'))
        .default(5),
    )
    .addOption(
      new Option('--breaker-consecutive <n>', 'cloud failures in a row that open the breaker at once')
        .argParser(parsePositiveInt('--breaker-consecutive'))
        .default(5),
    )
    .addOption(msOption('--breaker-reset-ms <ms>', 'time open before a half-open probe', 5000))
    .addOption(msOption('--telemetry-interval-ms <ms>', 'telemetry period', 5000))
    .addOption(
      msOption(
        '--device-list-poll-ms <ms>',
        'without --cloud-broker: fetch the device list from --cloud this often (0 = only at start)',
        30_000,
      ),
    )
    .addOption(
      msOption('--shutdown-timeout-ms <ms>', 'how long SIGINT/SIGTERM waits for in-flight requests', 5000),
    )
    .option('--quiet', 'no log lines on stderr (the ready line still goes to stdout)')
    .action(runEdge);
}

const MQTT_SCHEMES = ['mqtt:', 'mqtts:', 'ws:', 'wss:', 'tcp:'];

async function runEdge(flags: EdgeFlags, command: Command): Promise<void> {
  const token = flags.token ?? process.env.FOGLINE_EDGE_TOKEN;
  if (!token) command.error('error: an edge token is required: --token <token> or FOGLINE_EDGE_TOKEN');
  if (flags.broker) {
    const embeddedOnly = {
      mqttPort: '--mqtt-port',
      wsPort: '--ws-port',
      devicePublishRate: '--device-publish-rate',
    };
    for (const [key, flag] of Object.entries(embeddedOnly)) {
      if (command.getOptionValueSource(key) === 'cli') {
        command.error(`error: ${flag} configures the embedded broker; not with --broker`);
      }
    }
  } else if (flags.brokerUsername !== undefined || flags.brokerPassword !== undefined) {
    command.error('error: --broker-username/--broker-password need --broker');
  }
  if (flags.telemetryIntervalMs < 100) command.error('error: --telemetry-interval-ms must be at least 100');
  if (flags.deviceListPollMs > 0 && flags.deviceListPollMs < 100)
    command.error('error: --device-list-poll-ms must be 0 (only at start) or at least 100');
  if (flags.cloudBroker !== undefined && command.getOptionValueSource('deviceListPollMs') === 'cli') {
    command.error(
      'error: --device-list-poll-ms is for edges without --cloud-broker (which delivers the list)',
    );
  }
  const localBroker: LocalBrokerOptions = flags.broker
    ? {
        kind: 'external',
        url: flags.broker,
        username: flags.brokerUsername,
        password: flags.brokerPassword ?? process.env.FOGLINE_BROKER_PASSWORD,
      }
    : {
        kind: 'embedded',
        host: flags.host,
        mqttPort: flags.mqttPort,
        wsPort: flags.wsPort,
        ...(flags.devicePublishRate !== undefined && {
          publishRate: { ratePerSec: flags.devicePublishRate, burst: 2 * flags.devicePublishRate },
        }),
      };
  const log = (line: string) => {
    if (!flags.quiet) process.stderr.write(`fogline edge ${flags.id}: ${line}\n`);
  };
  const options: EdgeAgentOptions = {
    edgeId: flags.id,
    token: token as string,
    cloudUrl: flags.cloud,
    cloudModel: flags.cloudModel,
    cloudBrokerUrl: flags.cloudBroker,
    localBroker,
    dataDir: flags.dataDir,
    modelsDir: flags.models,
    model: flags.model,
    modelVersion: flags.modelVersion,
    routingScore: flags.routingScore,
    routingThreshold: flags.threshold,
    workers: flags.workers,
    intraOpThreads: flags.intraOpThreads,
    maxBatchSize: flags.maxBatchSize,
    maxQueueDelayMs: flags.maxQueueDelayMs,
    maxQueueSize: flags.maxQueueSize,
    defaultDeadlineMs: flags.defaultDeadlineMs,
    minCloudBudgetMs: flags.minCloudBudgetMs,
    breaker: {
      errorThresholdPercentage: flags.breakerErrorPercent,
      volumeThreshold: flags.breakerVolume,
      consecutiveFailures: flags.breakerConsecutive,
      resetTimeoutMs: flags.breakerResetMs,
    },
    telemetryIntervalMs: flags.telemetryIntervalMs,
    deviceListPollMs: flags.deviceListPollMs,
    shutdownTimeoutMs: flags.shutdownTimeoutMs,
    logger: { info: log, warn: (line) => log(`warning: ${line}`) },
  };
  const agent = createEdgeAgent(options);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      log(`second ${signal}, exiting now`);
      process.exit(1);
    }
    stopping = true;
    log(`${signal}: finishing in-flight requests`);
    setTimeout(() => process.exit(1), flags.shutdownTimeoutMs + 5000).unref();
    agent.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log(`stop failed: ${(err as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));

  const info = await agent.start();
  const { localBroker: bus } = info;
  process.stdout.write(
    `${JSON.stringify({
      event: 'ready',
      edgeId: info.edgeId,
      model: info.model,
      routing: info.routing,
      mqtt: { port: bus.mqttPort ?? null },
      ws: { port: bus.wsPort ?? null },
      broker: bus.kind === 'external' ? bus.url : 'embedded',
      cloud: info.cloudUrl,
      cloudModel: info.cloudModel,
      cloudBroker: info.cloudBrokerUrl ?? null,
      dataDir: flags.dataDir,
      deviceListVersion: info.deviceListVersion ?? null,
    })}\n`,
  );
}

function parseId(value: string): string {
  if (!isValidId(value))
    throw new InvalidArgumentError(`--id must be 1-64 chars of [A-Za-z0-9._-], got "${value}"`);
  return value;
}

function parseUrl(flag: string, schemes: readonly string[]): (value: string) => string {
  return (value) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new InvalidArgumentError(
        `${flag} must be a URL such as ${schemes[0]}//host:port, got "${value}"`,
      );
    }
    if (!schemes.includes(url.protocol)) {
      throw new InvalidArgumentError(
        `${flag} must use ${schemes.map((s) => `${s}//`).join(' or ')}, got "${value}"`,
      );
    }
    return value;
  };
}

function parseScoreKind(value: string): ScoreKind {
  if (!isScoreKind(value))
    throw new InvalidArgumentError(`--routing-score must be maxprob, margin or entropy, got "${value}"`);
  return value;
}

function parseUnit(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !(n >= 0 && n <= 1))
    throw new InvalidArgumentError(`--threshold must be a number in 0..1, got "${value}"`);
  return n;
}

function parsePercent(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !(n > 0 && n <= 100)) {
    throw new InvalidArgumentError(`--breaker-error-percent must be in (0, 100], got "${value}"`);
  }
  return n;
}

function parseMs(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < 0)
      throw new InvalidArgumentError(`${flag} must be a number of ms >= 0, got "${value}"`);
    return n;
  };
}

function msOption(flags: string, description: string, fallback: number): Option {
  const flag = flags.split(' ')[0]!;
  return new Option(flags, description).argParser(parseMs(flag)).default(fallback);
}
