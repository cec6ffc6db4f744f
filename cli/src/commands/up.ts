/**
 * `fogline up` (what `npm start` runs): the cloud, one edge agent and N simulated devices streaming
 * a labelled dataset through a cascade (the digits test split through the digits models by default;
 * `--models <repo> --data <dataset>` for the user's own), all on embedded defaults and authenticated
 * for real, with a live view.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_CLOUD_OPTIONS, DEFAULT_DATA_DIR } from '@fogline/cloud';
import { FoglineError, intIn, rule } from '@fogline/shared';
import { type Cascade, DEFAULT_MODELS_DIR } from '@fogline/shared/model-repository';
import { type Dataset, targetOf } from '@fogline/toolchain';
import { type Command, Option } from 'commander';
import { cascadeOf, isBuiltInRepository } from '../cascade-flags.ts';
import { type ControllerFlags, controllerSettings, withControllerFlags } from '../controller-flags.ts';
import { readDataset } from '../dataset-progress.ts';
import { numberFlag, parsePort } from '../flags.ts';
import { CascadeTally } from '../up/cascade-tally.ts';
import { type DeviceSimulator, startDeviceSimulator } from '../up/device-simulator.ts';
import { startFabricSystem } from '../up/fabric-system.ts';
import { renderView } from '../up/live-view.ts';

interface UpFlags extends ControllerFlags {
  devices: number;
  rate: number;
  duration?: number;
  deadlineMs: number;
  sim: boolean;
  host: string;
  httpPort: number;
  mqttPort: number;
  edgeMqttPort: number;
  dataDir: string;
  models: string;
  edgeId: string;
  deviceModel?: string;
  edgeModel?: string;
  cloudModel?: string;
  data?: string;
  strict?: boolean;
}

const positive = (flag: string, max: number) =>
  numberFlag(
    flag,
    rule<number>(`a number in (0, ${max}]`, (v) => typeof v === 'number' && v > 0 && v <= max),
  );
const count = (flag: string, max: number) => numberFlag(flag, intIn(0, max));

export function registerUp(program: Command): void {
  withControllerFlags(program.command('up'))
    .description('run cloud + edge + simulated devices on embedded defaults, with a live view')
    .addOption(
      new Option('--devices <n>', 'simulated devices').argParser(count('--devices', 500)).default(20),
    )
    .addOption(
      new Option('--rate <req/s>', 'requests per second per device')
        .argParser(positive('--rate', 1000))
        .default(5),
    )
    .addOption(
      new Option(
        '--duration <s>',
        'stop after this many seconds with a summary (default: until Ctrl-C)',
      ).argParser(positive('--duration', 86_400)),
    )
    .addOption(
      new Option('--deadline-ms <ms>', 'latency budget of each request')
        .argParser(positive('--deadline-ms', 60_000))
        .default(250),
    )
    .option('--no-sim', 'serve without simulated devices')
    .option('--host <address>', 'interface to bind', '127.0.0.1')
    .addOption(
      new Option('--http-port <port>', 'cloud HTTP port')
        .argParser(parsePort('--http-port'))
        .default(DEFAULT_CLOUD_OPTIONS.httpPort),
    )
    .addOption(
      new Option('--mqtt-port <port>', 'cloud MQTT port')
        .argParser(parsePort('--mqtt-port'))
        .default(DEFAULT_CLOUD_OPTIONS.mqttPort),
    )
    .addOption(
      new Option('--edge-mqtt-port <port>', "edge's local MQTT port")
        .argParser(parsePort('--edge-mqtt-port'))
        .default(1884),
    )
    .option('--data-dir <dir>', 'state directory (cloud/ and edge/ inside)', join(DEFAULT_DATA_DIR, 'up'))
    .addOption(new Option('--models <dir>', 'model repository').default(DEFAULT_MODELS_DIR, '<repo>/models'))
    .option('--edge-id <id>', 'id of the edge', 'edge-1')
    .option(
      '--data <dataset>',
      'labelled samples the simulated devices stream: a digits split, a folder of class folders of images, a .npy pair or a .json file (docs/data.md); default: the digits test split with the built-in models',
    )
    .option('--strict', 'stop at the first bad file of the dataset instead of skipping it')
    .option('--device-model <name>', 'device model (default: the only device model of the repository)')
    .option(
      '--edge-model <name>',
      'edge model (default: the only edge model, else the one named *-int8; digits: digits-mid-int8 when present, else digits-mid)',
    )
    .option('--cloud-model <name>', 'cloud model (default: the only cloud model of the repository)')
    .action(runUp);
}

/** The samples the devices stream, prepared for the device model; read before anything starts. */
async function datasetOf(flags: UpFlags, cascade: Cascade): Promise<Dataset | undefined> {
  if (!flags.sim || flags.devices === 0) return undefined;
  if (flags.data === undefined && !isBuiltInRepository(flags.models)) {
    throw new FoglineError(
      'INVALID_ARG',
      `--models ${flags.models}: give --data <dataset> with labelled samples for its models (a folder of class folders of images, a .npy pair; docs/data.md), or --no-sim`,
    );
  }
  const device = cascade.device;
  const set = await readDataset(
    flags.data ?? 'test',
    targetOf(device.config, join(device.dir, 'config.json')),
    {
      strict: flags.strict === true,
    },
  );
  if (!set.labels) {
    throw new FoglineError(
      'INVALID_ARG',
      `${set.source} has no labels; the live view scores every answer against its label`,
    );
  }
  return set;
}

async function runUp(flags: UpFlags): Promise<void> {
  const say = (line: string) => process.stderr.write(`${line}\n`);
  const int8 = existsSync(join(flags.models, 'digits-mid-int8', 'config.json'));
  const cascade = await cascadeOf(flags, {
    device: 'digits-tiny',
    edge: int8 ? 'digits-mid-int8' : 'digits-mid',
    cloud: 'digits-large',
  });
  const dataset = await datasetOf(flags, cascade);
  say(
    `fogline up: starting cloud (${cascade.cloud.name}), edge (${cascade.edge.name}) and devices (${cascade.device.name})` +
      (dataset ? ` streaming ${dataset.source} (${dataset.count} samples)…` : '…'),
  );
  const system = await startFabricSystem({
    controller: controllerSettings(flags),
    dataDir: flags.dataDir,
    modelsDir: flags.models,
    host: flags.host,
    httpPort: flags.httpPort,
    mqttPort: flags.mqttPort,
    edgeMqttPort: flags.edgeMqttPort,
    edgeId: flags.edgeId,
    edgeModel: cascade.edge.name,
    deviceModel: `${cascade.device.name}:${cascade.device.latestVersion}`,
    cloudModel: cascade.cloud.name,
    devices: flags.sim ? flags.devices : 0,
    devicePublishRate: Math.max(50, flags.rate * 4),
    say,
  });
  const tally = new CascadeTally();
  let simulator: DeviceSimulator | undefined;
  if (dataset) {
    const input = cascade.device.config.inputs[0]!;
    simulator = await startDeviceSimulator({
      dataset,
      deviceModel: cascade.device.modelPath(),
      inputShape: [1, ...input.shape.slice(1)],
      broker: system.edgeBrokerUrl,
      edgeId: flags.edgeId,
      devices: system.devices,
      ratePerDevice: flags.rate,
      deadlineMs: flags.deadlineMs,
      tally,
    });
  }
  const started = performance.now();
  const view = (final: boolean) =>
    renderView(tally.summary(), {
      elapsedS: (performance.now() - started) / 1000,
      durationS: flags.duration ?? null,
      devices: simulator ? flags.devices : 0,
      ratePerDevice: simulator ? flags.rate : 0,
      breaker: system.edge.breakerState,
      edgeOnline: system.edge.cloudLinkConnected,
      urls: final ? {} : system.urls,
    });
  const tty = process.stdout.isTTY === true;
  const timer = setInterval(
    () =>
      tty
        ? process.stdout.write(`\x1b[H\x1b[2J${view(false)}\n`)
        : process.stdout.write(`${view(false)}\n\n`),
    tty ? 500 : 5_000,
  );
  if (!tty) process.stdout.write(`${view(false)}\n\n`);

  await new Promise<void>((resolve) => {
    const done = () => resolve();
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
    if (flags.duration !== undefined) setTimeout(done, flags.duration * 1000).unref();
  });
  clearInterval(timer);
  say('fogline up: stopping…');
  await simulator?.stop();
  process.stdout.write(`\nsummary\n${view(true)}\n`);
  await system.stop();
  process.exit(0);
}
