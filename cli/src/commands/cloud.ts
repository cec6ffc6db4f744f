/**
 * `fogline cloud`: runs the cloud tier (OIP gateway; the cloud MQTT broker for edges on --mqtt-port
 * and at ws://host:port/mqtt; the admin API for keys, edges and devices).
 * stdout carries exactly one JSON line, once ready: `{"event":"ready","http":{"port":…},"mqtt":{"port":…},…}`.
 * Everything for humans (admin token at first start, --no-auth warning, shutdown) goes to stderr.
 */
import {
  CLOUD_RULES,
  type CloudOptions,
  CloudServer,
  DEFAULT_CLOUD_OPTIONS,
  DEFAULT_INLINE_MAX_MS,
  SERVING_RULES,
  type ServingOptions,
  WEB_BUILD_COMMAND,
} from '@fogline/cloud';
import { BROKER_DEFAULTS, BROKER_RULES, RATE_RULES } from '@fogline/shared/broker';
import { modelDirNames } from '@fogline/shared/model-repository';
import { type Command, Option } from 'commander';
import { type ClusterFlags, clusterOptions, withClusterFlags } from '../cluster-flags.ts';
import { type ControllerFlags, controllerSettings, withControllerFlags } from '../controller-flags.ts';
import { numberFlag, numberListFlag, numberOption } from '../flags.ts';
import {
  addBrokerCaps,
  addHttpLimits,
  type BrokerCapFlags,
  brokerCapsOf,
  type HttpLimitFlags,
  httpLimitsOf,
} from '../listener-flags.ts';
import {
  addDataDirTrust,
  addServerTls,
  reloadTlsOnSighup,
  serverTlsFiles,
  type TrustFlags,
} from '../trust-flags.ts';

interface CloudFlags extends ClusterFlags, ControllerFlags, TrustFlags, HttpLimitFlags, BrokerCapFlags {
  httpPort: number;
  mqttPort: number;
  host: string;
  dataDir: string;
  models: string;
  auth: boolean;
  sizing: 'probe' | 'default';
  workers?: number;
  intraOpThreads?: number;
  maxBatchSize?: number;
  maxQueueDelayMs?: number;
  maxQueueSize?: number;
  preferredBatchSizes?: number[];
  inlineMaxMs?: number;
  maxBodyBytes: number;
  maxModelBytes: number;
  shutdownTimeoutMs: number;
  mqttMaxPacketBytes?: number;
  mqttDrainTimeoutMs?: number;
  mqttConnectRate?: number;
  mqttMaxClients?: number;
  mqttPublishRate?: number;
  edgeRate: number;
  edgeBurst: number;
  cloudModel: string;
  responseCacheMb?: number;
  auditInputs: 'keep' | 'drop';
  auditInputDays: number;
  auditMaxRecords: number;
  auditMaxAgeDays: number;
  demo?: boolean;
  logRequests?: boolean;
}

const DAY_MS = 86_400_000;

export function registerCloud(program: Command): void {
  const d = DEFAULT_CLOUD_OPTIONS;
  const serving = SERVING_RULES;
  const broker = BROKER_RULES;
  const command = withClusterFlags(withControllerFlags(program.command('cloud')));
  addServerTls(addDataDirTrust(command), 'HTTPS, MQTTS and WSS');
  addBrokerCaps(addHttpLimits(command))
    .description('run the cloud tier: Open Inference Protocol gateway over the model repository')
    .addOption(
      numberOption('--http-port <port>', 'HTTP port (0 = any free port)', CLOUD_RULES.httpPort, d.httpPort),
    )
    .addOption(
      numberOption(
        '--mqtt-port <port>',
        'MQTT port of the cloud broker for edges (0 = any free port)',
        CLOUD_RULES.mqttPort,
        d.mqttPort,
      ),
    )
    .option('--host <address>', 'interface to bind', d.host)
    .option('--data-dir <dir>', 'state directory (admin token, database, cloud.json)', d.dataDir)
    .addOption(new Option('--models <dir>', 'model repository').default(d.modelsDir, '<repo>/models'))
    .option('--no-auth', 'serve inference without API keys (development only)')
    .addOption(
      new Option(
        '--sizing <mode>',
        'probe: size workers × threads and batching from each model version measured at load (≈ 1 s, cached in --data-dir); default: from the core count',
      )
        .choices(['probe', 'default'])
        .default('default'),
    )
    .option(
      '--workers <n>',
      'onnxruntime sessions per model (default: from --sizing)',
      numberFlag('--workers', serving.workers),
    )
    .option(
      '--intra-op-threads <n>',
      'onnxruntime threads per session (default: from --sizing)',
      numberFlag('--intra-op-threads', serving.intraOpThreads),
    )
    .option(
      '--max-batch-size <n>',
      'override max_batch_size of every model',
      numberFlag('--max-batch-size', serving.maxBatchSize),
    )
    .option(
      '--max-queue-delay-ms <ms>',
      'override dynamic_batching.max_queue_delay_ms',
      numberFlag('--max-queue-delay-ms', serving.maxQueueDelayMs),
    )
    .option(
      '--max-queue-size <n>',
      'override dynamic_batching.max_queue_size',
      numberFlag('--max-queue-size', serving.maxQueueSize),
    )
    .option(
      '--preferred-batch-sizes <list>',
      'override dynamic_batching.preferred_batch_size (e.g. 16,32,64)',
      numberListFlag('--preferred-batch-sizes', serving.preferredBatchSize),
    )
    .option(
      '--inline-max-ms <ms>',
      `a lone request to a model that runs in at most this many ms runs on the main thread while its workers are idle, skipping the worker hop; 0: always a worker (default ${DEFAULT_INLINE_MAX_MS})`,
      numberFlag('--inline-max-ms', serving.inlineMaxMs),
    )
    .addOption(
      new Option(
        '--audit-inputs <keep|drop>',
        'store the raw inputs of audits from edges (docs/cloud.md "Audits")',
      )
        .choices(['keep', 'drop'])
        .default(d.audits.inputs),
    )
    .addOption(
      numberOption(
        '--audit-input-days <n>',
        'days a stored audit input is kept',
        CLOUD_RULES.audits.inputTtlMs,
        d.audits.inputTtlMs / DAY_MS,
      ),
    )
    .addOption(
      numberOption(
        '--audit-max-records <n>',
        'audit records kept at most (the newest)',
        CLOUD_RULES.auditRetention.maxRecords,
        d.audits.retention.maxRecords,
      ),
    )
    .addOption(
      numberOption(
        '--audit-max-age-days <n>',
        'audit records older than this are deleted',
        CLOUD_RULES.auditRetention.maxAgeMs,
        d.audits.retention.maxAgeMs / DAY_MS,
      ),
    )
    .addOption(
      numberOption(
        '--max-body-bytes <n>',
        'largest request body (413 past it)',
        CLOUD_RULES.maxBodyBytes,
        d.maxBodyBytes,
      ),
    )
    .addOption(
      numberOption(
        '--max-model-bytes <n>',
        'largest model file `fogline models push` may upload to the model store (413 past it)',
        CLOUD_RULES.maxModelBytes,
        d.maxModelBytes,
      ),
    )
    .addOption(
      numberOption(
        '--shutdown-timeout-ms <ms>',
        'how long SIGINT/SIGTERM waits for in-flight requests',
        CLOUD_RULES.shutdownTimeoutMs,
        d.shutdownTimeoutMs,
      ),
    )
    .option(
      '--mqtt-max-packet-bytes <n>',
      `largest MQTT packet a client may send (default ${BROKER_DEFAULTS.maxPacketBytes})`,
      numberFlag('--mqtt-max-packet-bytes', broker.maxPacketBytes),
    )
    .option(
      '--mqtt-drain-timeout-ms <ms>',
      `drop an MQTT client that does not read its socket for this long (default ${BROKER_DEFAULTS.drainTimeoutMs})`,
      numberFlag('--mqtt-drain-timeout-ms', broker.drainTimeoutMs),
    )
    .option(
      '--mqtt-connect-rate <n>',
      `new MQTT connections per second, broker-wide; burst 2× (default ${BROKER_DEFAULTS.connectRate.ratePerSec})`,
      numberFlag('--mqtt-connect-rate', RATE_RULES.ratePerSec),
    )
    .option(
      '--mqtt-max-clients <n>',
      `MQTT clients connected at once (default ${BROKER_DEFAULTS.maxClients})`,
      numberFlag('--mqtt-max-clients', broker.maxClients),
    )
    .option(
      '--mqtt-publish-rate <n>',
      `publishes per second per MQTT client; burst 2× (default ${BROKER_DEFAULTS.publishRate.ratePerSec})`,
      numberFlag('--mqtt-publish-rate', RATE_RULES.ratePerSec),
    )
    .addOption(
      numberOption(
        '--edge-rate <req/s>',
        'token-bucket rate of each edge on HTTP infer',
        CLOUD_RULES.edgeRate.ratePerSec,
        d.edgeRate.ratePerSec,
      ),
    )
    .addOption(
      numberOption(
        '--edge-burst <n>',
        'token-bucket capacity of each edge on HTTP infer',
        CLOUD_RULES.edgeRate.burst,
        d.edgeRate.burst,
      ),
    )
    .option(
      '--response-cache-mb <MiB>',
      `response cache for models whose config enables response_cache (0 = none; default ${RESPONSE_CACHE_ENV} or ${d.responseCacheMb})`,
      numberFlag('--response-cache-mb', CLOUD_RULES.responseCacheMb),
    )
    .option(
      '--cloud-model <name>',
      'model that answers devices with no edge on the cloud broker (fogline devices add --cloud)',
      d.cloudModel,
    )
    .option(
      '--demo',
      'open the playground (/playground) to anyone: a public demo identity that reaches only the cloud model, rate-limited (docs/dashboard.md)',
    )
    .option(
      '--log-requests',
      'one log line per inference request: its request id, trace id and status (docs/reliability.md "Tracing a request")',
    )
    .action(runCloud);
}

async function runCloud(flags: CloudFlags): Promise<void> {
  // A repository that cannot be read fails here, in a second, not after the store has started.
  await modelDirNames(flags.models);
  const serving: ServingOptions = {
    sizing: flags.sizing,
    workers: flags.workers,
    intraOpThreads: flags.intraOpThreads,
    maxBatchSize: flags.maxBatchSize,
    maxQueueDelayMs: flags.maxQueueDelayMs,
    maxQueueSize: flags.maxQueueSize,
    preferredBatchSizes: flags.preferredBatchSizes,
    inlineMaxMs: flags.inlineMaxMs,
  };
  const server = new CloudServer(
    {
      httpPort: flags.httpPort,
      mqttPort: flags.mqttPort,
      host: flags.host,
      dataDir: flags.dataDir,
      insecureDataDir: flags.insecureDataDir === true,
      modelsDir: flags.models,
      auth: flags.auth,
      maxBodyBytes: flags.maxBodyBytes,
      maxModelBytes: flags.maxModelBytes,
      shutdownTimeoutMs: flags.shutdownTimeoutMs,
      serving: JSON.parse(JSON.stringify(serving)) as ServingOptions,
      mqtt: { ...brokerLimits(flags), ...brokerCapsOf(flags) },
      http: httpLimitsOf(flags),
      edgeRate: { ratePerSec: flags.edgeRate, burst: flags.edgeBurst },
      cloudModel: flags.cloudModel,
      responseCacheMb: flags.responseCacheMb ?? responseCacheFromEnv(),
      audits: {
        ...DEFAULT_CLOUD_OPTIONS.audits,
        inputs: flags.auditInputs,
        inputTtlMs: flags.auditInputDays * DAY_MS,
        retention: { maxRecords: flags.auditMaxRecords, maxAgeMs: flags.auditMaxAgeDays * DAY_MS },
      },
      controller: controllerSettings(flags),
      demo: flags.demo === true,
      logRequests: flags.logRequests === true,
      tls: serverTlsFiles(flags),
      ...clusterOptions(flags),
    },
    (err) => process.stderr.write(`fogline cloud: internal error: ${err.stack ?? err.message}\n`),
    (line) => process.stderr.write(`fogline cloud: ${line}\n`),
  );
  if (!flags.auth) {
    process.stderr.write(
      '\n*** WARNING: --no-auth: inference and model loading need NO credentials. Anyone who can reach ' +
        'this port can use it. Never run like this outside a development machine. ***\n\n',
    );
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      process.stderr.write(`fogline cloud: second ${signal}, exiting now\n`);
      process.exit(1);
    }
    stopping = true;
    process.stderr.write(`fogline cloud: ${signal}: finishing in-flight requests\n`);
    // Backstop: a stop that hangs must not keep the process alive forever.
    setTimeout(() => process.exit(1), flags.shutdownTimeoutMs + 5000).unref();
    server.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`fogline cloud: stop failed: ${(err as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  // SIGHUP: the certificate renewed on disk is served to new connections; open ones go on.
  reloadTlsOnSighup(
    () => server.reloadTls(),
    (line) => process.stderr.write(`fogline cloud: ${line}\n`),
  );

  const ready = await server.start();
  if (ready.adminToken.created) {
    process.stderr.write(
      `fogline cloud: admin token (shown once; stored in ${ready.adminToken.path}):\n  ${ready.adminToken.token}\n`,
    );
  }
  if (!ready.web.built) {
    process.stderr.write(
      `fogline cloud: the dashboard is not built: run \`${WEB_BUILD_COMMAND}\` (npm install runs it)\n`,
    );
  }
  process.stdout.write(
    `${JSON.stringify({
      event: 'ready',
      dashboard: ready.web.dashboard,
      playground: ready.web.playground,
      http: { port: ready.http.port, url: ready.http.url },
      mqtt: ready.mqtt,
      dataDir: server.options.dataDir,
      adminTokenFile: ready.adminToken.path,
      auth: ready.auth,
      models: ready.models,
    })}\n`,
  );
}

const RESPONSE_CACHE_ENV = 'FOGLINE_RESPONSE_CACHE_MB';

/** `FOGLINE_RESPONSE_CACHE_MB` when set (checked like the flag), else the default. */
function responseCacheFromEnv(): number {
  const text = process.env[RESPONSE_CACHE_ENV];
  if (text === undefined || text.trim() === '') return DEFAULT_CLOUD_OPTIONS.responseCacheMb;
  const n = Number(text);
  const rule = CLOUD_RULES.responseCacheMb;
  // A plain error, not commander's: this runs after parsing, where only main() prints errors.
  if (!rule.test(n)) throw new Error(`${RESPONSE_CACHE_ENV} must be ${rule.must}, got "${text}"`);
  return n;
}

function brokerLimits(flags: CloudFlags): CloudOptions['mqtt'] {
  const limits: CloudOptions['mqtt'] = {};
  if (flags.mqttMaxPacketBytes !== undefined) limits.maxPacketBytes = flags.mqttMaxPacketBytes;
  if (flags.mqttDrainTimeoutMs !== undefined) limits.drainTimeoutMs = flags.mqttDrainTimeoutMs;
  if (flags.mqttMaxClients !== undefined) limits.maxClients = flags.mqttMaxClients;
  if (flags.mqttConnectRate !== undefined) {
    limits.connectRate = { ratePerSec: flags.mqttConnectRate, burst: 2 * flags.mqttConnectRate };
  }
  if (flags.mqttPublishRate !== undefined) {
    limits.publishRate = { ratePerSec: flags.mqttPublishRate, burst: 2 * flags.mqttPublishRate };
  }
  return limits;
}
