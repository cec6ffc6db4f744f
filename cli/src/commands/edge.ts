/**
 * `fogline edge`: runs an edge agent (local MQTT broker for the devices, mid model, escalation to the
 * cloud). stdout carries exactly one JSON line, once ready:
 * `{"event":"ready","edgeId":…,"model":…,"mqtt":{"port":…},"ws":{"port":…},…}`; logs go to stderr.
 */
import {
  AGENT_DEFAULTS,
  AGENT_RULES,
  BREAKER_DEFAULTS,
  BREAKER_RULES,
  createEdgeAgent,
  DEFAULT_EDGE_MQTT_PORT,
  DRIFT_DEFAULTS,
  DRIFT_RULES,
  type EdgeAgentOptions,
  LOCAL_BROKER_RULES,
} from '@fogline/edge-agent';
import type { ScoreKind } from '@fogline/shared';
import { BROKER_DEFAULTS, RATE_RULES } from '@fogline/shared/broker';
import { DEFAULT_MODELS_DIR } from '@fogline/shared/model-repository';
import { type Command, Option } from 'commander';
import { numberFlag, numberOption, textFlag } from '../flags.ts';
import { addBrokerCaps } from '../listener-flags.ts';
import {
  addClientCa,
  addDataDirTrust,
  addServerTls,
  readClientCa,
  reloadTlsOnSighup,
} from '../trust-flags.ts';
import { addCloudFlags, type CloudFlags, cloudOptionsOf } from './edge-cloud-flags.ts';
import {
  addLateCorrectionFlags,
  type LateCorrectionFlags,
  lateCorrectionsOf,
} from './edge-late-corrections.ts';
import { type LocalBrokerFlags, localBrokerOf } from './edge-local-broker.ts';
import { addSideListenerFlags, type SideListenerFlags, sideListenersOf } from './edge-side-listeners.ts';

interface EdgeFlags extends LocalBrokerFlags, LateCorrectionFlags, SideListenerFlags, CloudFlags {
  id: string;
  token?: string;
  cloudModel: string;
  auditInputs: 'keep' | 'drop';
  auditFloorPerSec: number;
  auditRate?: number;
  dataDir: string;
  model: string;
  modelVersion?: number;
  deviceModel?: string;
  models: string;
  routingScore?: ScoreKind;
  threshold?: number;
  sizing: 'probe' | 'default';
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
  driftWindow: number;
  driftAlarmPsi: number;
  deviceListPollMs: number;
  shutdownTimeoutMs: number;
  quiet?: boolean;
  logRequests?: boolean;
}

export function registerEdge(program: Command): void {
  const a = AGENT_DEFAULTS;
  const rules = AGENT_RULES;
  const { publishRate } = BROKER_DEFAULTS;
  const command = addSideListenerFlags(
    addLateCorrectionFlags(addBrokerCaps(addDataDirTrust(addCloudFlags(program.command('edge'))))),
  );
  addServerTls(command, 'the local broker as MQTTS/WSS');
  addClientCa(command, 'the cloud (--cloud https://…, --cloud-broker mqtts://…)')
    .description('run an edge agent: local MQTT broker for devices, mid model, escalation to the cloud')
    .requiredOption(
      '--id <id>',
      'edge id (as registered with `fogline edges add`)',
      textFlag('--id', rules.edgeId),
    )
    .option('--token <token>', 'edge token (default: $FOGLINE_EDGE_TOKEN; prefer it, argv is visible to ps)')
    .option('--cloud-model <name>', 'cloud model to escalate to', a.cloudModel)
    .addOption(
      new Option('--audit-inputs <keep|drop>', "drop: the cloud stores no inputs of this edge's audits")
        .choices(['keep', 'drop'])
        .default(a.auditInputs),
    )
    .option(
      '--audit-rate <p>',
      "share of requests the devices audit, in [0, 1], sent to them at start; an operator's rate " +
        "(`fogline policy audit-rate`) outranks it, a drift alarm raises it (default: the devices' own, 0.02)",
      numberFlag('--audit-rate', rules.auditRate),
    )
    .addOption(
      numberOption(
        '--audit-floor-per-sec <n>',
        'audits per second still forwarded during a drift alarm while the edge model is busy (0: none)',
        rules.auditFloorPerSec,
        a.auditFloorPerSec,
      ),
    )
    .addOption(
      numberOption(
        '--mqtt-port <port>',
        'local broker MQTT/TCP port (0 = any free port)',
        LOCAL_BROKER_RULES.mqttPort,
        DEFAULT_EDGE_MQTT_PORT,
      ),
    )
    .option(
      '--ws-port <port>',
      'local broker MQTT-over-WebSocket port (path /mqtt; 0 = any free port)',
      numberFlag('--ws-port', LOCAL_BROKER_RULES.wsPort),
    )
    // The CLI serves the LAN; the library's embedded broker binds 127.0.0.1 unless told otherwise.
    .option('--host <address>', 'interface the local broker binds', '0.0.0.0')
    .option(
      '--device-publish-rate <n>',
      'publishes per second allowed to each device on the local broker, burst 2n ' +
        `(default ${publishRate.ratePerSec}, burst ${publishRate.burst})`,
      numberFlag('--device-publish-rate', RATE_RULES.ratePerSec),
    )
    .option(
      '--broker <url>',
      'use this external broker (e.g. Mosquitto) instead of the embedded one',
      textFlag('--broker', LOCAL_BROKER_RULES.url),
    )
    .option('--broker-username <name>', 'username on the external broker (default: the edge id)')
    .option(
      '--broker-password <secret>',
      'password on the external broker (default: $FOGLINE_BROKER_PASSWORD, else none; never the edge token)',
    )
    .requiredOption(
      '--data-dir <dir>',
      'state directory: device-list cache, deployed models, late corrections, probe cache',
    )
    .option(
      '--model <name>',
      'edge model from the repository (a version deployed by the cloud, kept in --data-dir, outranks it: docs/edge-agent.md "Deployments")',
      a.model,
    )
    .option(
      '--model-version <n>',
      'model version (default: latest)',
      numberFlag('--model-version', rules.modelVersion),
    )
    .addOption(new Option('--models <dir>', 'model repository').default(DEFAULT_MODELS_DIR, '<repo>/models'))
    .option(
      '--device-model <name:version>',
      "the devices' model, for the policies the edge publishes to them (default: its config's drift block)",
      textFlag('--device-model', rules.deviceModel),
    )
    .option(
      '--routing-score <kind>',
      'override the routing score: maxprob, margin or entropy',
      textFlag('--routing-score', rules.routingScore),
    )
    .option(
      '--threshold <x>',
      'override the routing threshold, 0..1 (answer locally when score >= x)',
      numberFlag('--threshold', rules.routingThreshold),
    )
    .addOption(
      new Option(
        '--sizing <mode>',
        "probe: size workers × threads and batching from the model measured at load (≈ 1 s, cached in --data-dir); default: one session per core beyond the broker's",
      )
        .choices(['probe', 'default'])
        .default('default'),
    )
    .option(
      '--workers <n>',
      'onnxruntime sessions (default: from --sizing)',
      numberFlag('--workers', rules.workers),
    )
    .option(
      '--intra-op-threads <n>',
      'onnxruntime threads per session (default: from --sizing)',
      numberFlag('--intra-op-threads', rules.intraOpThreads),
    )
    .option(
      '--max-batch-size <n>',
      'override max_batch_size',
      numberFlag('--max-batch-size', rules.maxBatchSize),
    )
    .option(
      '--max-queue-delay-ms <ms>',
      'override dynamic_batching.max_queue_delay_ms',
      numberFlag('--max-queue-delay-ms', rules.maxQueueDelayMs),
    )
    .option(
      '--max-queue-size <n>',
      'override dynamic_batching.max_queue_size',
      numberFlag('--max-queue-size', rules.maxQueueSize),
    )
    .addOption(
      numberOption(
        '--default-deadline-ms <ms>',
        'budget of a request without deadline_ms',
        rules.defaultDeadlineMs,
        a.defaultDeadlineMs,
      ),
    )
    .addOption(
      numberOption(
        '--min-cloud-budget-ms <ms>',
        'least remaining budget worth a cloud call',
        rules.minCloudBudgetMs,
        a.minCloudBudgetMs,
      ),
    )
    .addOption(
      numberOption(
        '--breaker-error-percent <pct>',
        'failure % in the rolling window that opens the cloud breaker',
        BREAKER_RULES.errorThresholdPercentage,
        BREAKER_DEFAULTS.errorThresholdPercentage,
      ),
    )
    .addOption(
      numberOption(
        '--breaker-volume <n>',
        'cloud calls in the window before the breaker may open',
        BREAKER_RULES.volumeThreshold,
        BREAKER_DEFAULTS.volumeThreshold,
      ),
    )
    .addOption(
      numberOption(
        '--breaker-consecutive <n>',
        'cloud failures in a row that open the breaker at once',
        BREAKER_RULES.consecutiveFailures,
        BREAKER_DEFAULTS.consecutiveFailures,
      ),
    )
    .addOption(
      numberOption(
        '--breaker-reset-ms <ms>',
        'time open before a half-open probe',
        BREAKER_RULES.resetTimeoutMs,
        BREAKER_DEFAULTS.resetTimeoutMs,
      ),
    )
    .addOption(
      numberOption(
        '--telemetry-interval-ms <ms>',
        'telemetry period',
        rules.telemetryIntervalMs,
        a.telemetryIntervalMs,
      ),
    )
    .addOption(
      numberOption(
        '--drift-window <n>',
        "with a drift block in the edge model's config: least device inferences per drift window",
        DRIFT_RULES.windowRequests,
        DRIFT_DEFAULTS.windowRequests,
      ),
    )
    .addOption(
      numberOption(
        '--drift-alarm-psi <x>',
        'PSI of a drift window past which the drift alarm goes on',
        DRIFT_RULES.alarmPsi,
        DRIFT_DEFAULTS.alarmPsi,
      ),
    )
    .addOption(
      numberOption(
        '--device-list-poll-ms <ms>',
        'without --cloud-broker: fetch the device list from --cloud this often (0 = only at start)',
        rules.deviceListPollMs,
        a.deviceListPollMs,
      ),
    )
    .addOption(
      numberOption(
        '--shutdown-timeout-ms <ms>',
        'how long SIGINT/SIGTERM waits for in-flight requests',
        rules.shutdownTimeoutMs,
        a.shutdownTimeoutMs,
      ),
    )
    .option('--quiet', 'no log lines on stderr (the ready line still goes to stdout)')
    .option(
      '--log-requests',
      'one log line per inference request: its request id, device, trace id and outcome (docs/reliability.md "Tracing a request")',
    )
    .action(runEdge);
}

async function runEdge(flags: EdgeFlags, command: Command): Promise<void> {
  const token = flags.token ?? process.env.FOGLINE_EDGE_TOKEN;
  if (!token) command.error('error: an edge token is required: --token <token> or FOGLINE_EDGE_TOKEN');
  if (flags.cloudBroker !== undefined && command.getOptionValueSource('deviceListPollMs') === 'cli') {
    command.error(
      'error: --device-list-poll-ms is for edges without --cloud-broker (which delivers the list)',
    );
  }
  const localBroker = localBrokerOf(flags, command);
  const log = (line: string) => {
    if (!flags.quiet) process.stderr.write(`fogline edge ${flags.id}: ${line}\n`);
  };
  const options: EdgeAgentOptions = {
    edgeId: flags.id,
    token: token as string,
    ...cloudOptionsOf(flags),
    cloudModel: flags.cloudModel,
    auditInputs: flags.auditInputs,
    auditFloorPerSec: flags.auditFloorPerSec,
    ...(flags.auditRate !== undefined && { auditRate: flags.auditRate }),
    ...lateCorrectionsOf(flags),
    localBroker,
    dataDir: flags.dataDir,
    insecureDataDir: flags.insecureDataDir === true,
    cloudCa: await readClientCa(flags),
    ...sideListenersOf(flags),
    modelsDir: flags.models,
    model: flags.model,
    modelVersion: flags.modelVersion,
    ...(flags.deviceModel !== undefined && { deviceModel: flags.deviceModel }),
    routingScore: flags.routingScore,
    routingThreshold: flags.threshold,
    sizing: flags.sizing,
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
    drift: { windowRequests: flags.driftWindow, alarmPsi: flags.driftAlarmPsi },
    deviceListPollMs: flags.deviceListPollMs,
    shutdownTimeoutMs: flags.shutdownTimeoutMs,
    logger: { info: log, warn: (line) => log(`warning: ${line}`) },
    logRequests: flags.logRequests === true,
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
  reloadTlsOnSighup(() => agent.reloadTls(), log);

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
      tls: bus.tls === true,
      metrics: info.metrics ?? null,
      deviceFiles: info.deviceFiles ?? null,
      broker: bus.kind === 'external' ? bus.url : 'embedded',
      cloud: info.cloudUrls.join(','),
      cloudModel: info.cloudModel,
      cloudBroker: info.cloudBrokerUrls.length > 0 ? info.cloudBrokerUrls.join(',') : null,
      dataDir: flags.dataDir,
      deviceListVersion: info.deviceListVersion ?? null,
    })}\n`,
  );
}
