/**
 * `npm run bench -- auth-flood [--seconds N] [--flood-http N] [--flood-mqtt-rate N] [--no-pin]`
 * What a flood of bad credentials does to a valid client (issue 17 item 2): a `fogline cloud` process
 * with one edge enrolled (auth-flood/cloud-process.ts), as a deployment runs it; a valid client at 127.0.0.2 makes OIP infer requests with the edge's right token and, in parallel,
 * MQTT CONNECTs to the cloud broker as that edge (each connect → CONNACK → disconnect), first alone,
 * then while a child process floods from 127.0.0.5: `--flood-http` concurrent infer loops and
 * `--flood-mqtt-rate` CONNECTs/s, every one with a fresh wrong token for the same edge id (the costly
 * case: a known id, no cache hit). The figure is the valid client's p50 under flood / alone, for
 * infer and for CONNECT; target ≤ 2. Measured twice: with the default failed-authentication limits,
 * and with the per-address budget made unlimited (what the flood costs without it).
 *
 * The attacker stands in for other machines: with `taskset` (util-linux) the cloud process runs on
 * CPU 0, the bench process (the valid client) on CPU 1, and the flooder on CPU 1 at `nice -n 19`, so
 * the valid client gets its core when it needs it, as on its own machine; the same in both phases.
 * `--no-pin`: the old layout, all three processes anywhere on the box's cores.
 */
import { Agent, request } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { binaryInferRequest, connectMqtt, digits } from '@fogline/cloud/testing';
import { AUTH_THROTTLE_DEFAULTS } from '@fogline/shared/secrets';
import { type AuthFailFlags, type CloudCost, startCloudProcess } from './auth-flood/cloud-process.ts';
import type { FloodPlan, FloodResult } from './auth-flood/flooder.ts';
import { runChild } from './lib/child.ts';
import { cannotPin, pinnedCommand, pinProcess } from './lib/cpu-pinning.ts';
import { numberFlag } from './lib/flags.ts';
import { machineLine, ms, reportHead, table, target, targetsTable, writeReport } from './lib/report.ts';
import { median } from './lib/stats.ts';

const VALID_ADDRESS = '127.0.0.2';
const FLOOD_ADDRESS = '127.0.0.5';
const EDGE = 'bench-edge';
const LEAD_MS = 4000;
/** With pinning: the cloud's CPU, and the one the valid client and the flooder (at FLOODER_NICE) share. */
const CLOUD_CPU = '0';
const CLIENT_CPU = '1';
const FLOODER_NICE = 19;
/**
 * The valid client's CONNECTs per second: an edge reconnecting often, well under the broker-wide
 * connect rate (BROKER_DEFAULTS.connectRate, 200/s), which an unpaced loop on a quiet box would exceed
 * on its own and so measure the connect throttle instead of the flood.
 */
const VALID_CONNECTS_PER_SEC = 20;
/**
 * The valid client's infers per second at most: half the cloud's default per-edge rate (1000/s), which
 * an unpaced loop on a quiet box exceeds on its own (its own 429s, not the flood's).
 */
const VALID_INFERS_PER_SEC = 500;

interface Phase {
  inferP50Ms: number;
  connectP50Ms: number;
  infers: number;
  connects: number;
  /** The valid client's CONNECTs the broker refused (should be none). */
  connectsRefused: number;
  /** The phase's wall time, ms. */
  ms: number;
  /** Where the time goes: what the cloud process spent during the phase. */
  cloud: CloudCost;
  /** The valid client's own event-loop delay (this process; 10 ms resolution, as the cloud's), ms. */
  clientLoopDelayP50Ms: number;
  clientLoopDelayP99Ms: number;
}

/** The valid client for `seconds`: sequential infers and, beside them, sequential CONNECTs. */
async function measure(cloud: Cloud, token: string, seconds: number): Promise<Phase> {
  const { url: httpUrl, mqttUrl } = cloud;
  const until = performance.now() + seconds * 1000;
  const { body, headers } = binaryInferRequest(digits(1).images);
  const url = new URL('/v2/models/digits-tiny/infer', httpUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: 1, localAddress: VALID_ADDRESS });
  const infers: number[] = [];
  const connects: number[] = [];
  let connectsRefused = 0;
  const inferOnce = () =>
    new Promise<number>((resolve, reject) => {
      const authorization = `Bearer ${EDGE}:${token}`;
      const req = request(url, { method: 'POST', agent, headers: { ...headers, authorization } }, (res) => {
        res.resume();
        res.on('end', () =>
          res.statusCode === 200
            ? resolve(0)
            : reject(new Error(`auth-flood: the valid client's infer was answered ${res.statusCode}`)),
        );
      });
      req.on('error', reject);
      req.end(body);
    });
  const inferLoop = async () => {
    while (performance.now() < until) {
      const t = performance.now();
      await inferOnce();
      infers.push(performance.now() - t);
      const next = t + 1000 / VALID_INFERS_PER_SEC;
      if (performance.now() < next) await new Promise((r) => setTimeout(r, next - performance.now()));
    }
  };
  const connectLoop = async () => {
    while (performance.now() < until) {
      const t = performance.now();
      const outcome = await connectMqtt(mqttUrl, EDGE, token, {
        localAddress: VALID_ADDRESS,
        connectTimeout: 30_000,
      });
      if (outcome.ok) {
        connects.push(performance.now() - t);
        await outcome.client.endAsync();
      } else connectsRefused++;
      const next = t + 1000 / VALID_CONNECTS_PER_SEC;
      if (performance.now() < next) await new Promise((r) => setTimeout(r, next - performance.now()));
    }
  };
  const cloudCost = await cloud.phase();
  const clientLoop = monitorEventLoopDelay({ resolution: 10 });
  clientLoop.enable();
  const start = performance.now();
  try {
    await Promise.all([inferLoop(), connectLoop()]);
  } finally {
    clientLoop.disable();
    agent.destroy();
  }
  const elapsedMs = performance.now() - start;
  return {
    inferP50Ms: median(infers),
    connectP50Ms: median(connects),
    infers: infers.length,
    connects: connects.length,
    connectsRefused,
    ms: elapsedMs,
    cloud: await cloudCost(),
    clientLoopDelayP50Ms: clientLoop.percentile(50) / 1e6,
    clientLoopDelayP99Ms: clientLoop.percentile(99) / 1e6,
  };
}

type Cloud = Awaited<ReturnType<typeof startCloudProcess>>;

interface ConfigResult {
  name: string;
  alone: Phase;
  flooded: Phase;
  flood: FloodResult;
  inferRatio: number;
  connectRatio: number;
}

async function runConfig(
  name: string,
  authFail: AuthFailFlags | undefined,
  seconds: number,
  floodHttp: number,
  floodMqttRate: number,
  pin: boolean,
): Promise<ConfigResult> {
  const cloud = await startCloudProcess(authFail);
  try {
    if (pin) pinProcess(cloud.pid, CLOUD_CPU);
    const { token } = await cloud.admin.createEdge(EDGE);
    await measure(cloud, token, 0.5); // warm: the token verified and cached, sessions warm
    const alone = await measure(cloud, token, seconds);
    const plan: FloodPlan = {
      httpUrl: cloud.url,
      mqttUrl: cloud.mqttUrl,
      edgeId: EDGE,
      localAddress: FLOOD_ADDRESS,
      // The child's start (its loader) is over well before the flood, and the flood before we measure.
      startAt: Date.now() + LEAD_MS,
      durationMs: (seconds + 1) * 1000,
      httpConcurrency: floodHttp,
      mqttPerSec: floodMqttRate,
    };
    // Settled as soon as the flooder ends, so that a flooder failing while we measure (or after
    // `measure` threw) is reported below, never left as an unhandled rejection that ends the bench.
    const flooding = runChild<FloodResult>(
      new URL('./auth-flood/flooder.ts', import.meta.url),
      plan,
      undefined,
      pin ? pinnedCommand(CLIENT_CPU, FLOODER_NICE) : [],
    ).then(
      (result) => ({ ok: true as const, result }),
      (error: unknown) => ({ ok: false as const, error }),
    );
    await new Promise((r) => setTimeout(r, plan.startAt + 500 - Date.now())); // the flood under way
    const flooded = await measure(cloud, token, seconds);
    const flooder = await flooding;
    if (!flooder.ok) throw new Error(`auth-flood (${name}): the flooder failed`, { cause: flooder.error });
    const flood = flooder.result;
    return {
      name,
      alone,
      flooded,
      flood,
      inferRatio: flooded.inferP50Ms / alone.inferP50Ms,
      connectRatio: flooded.connectP50Ms / alone.connectP50Ms,
    };
  } finally {
    await cloud.stop();
  }
}

const cpuShare = (p: Phase) => `${((100 * p.cloud.cpuMs) / p.ms).toFixed(0)} %`;

const counts = (c: Record<string, number>) =>
  Object.entries(c)
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ');

export default async function run(args: string[] = []): Promise<void> {
  // 8 s per phase: a flood's first second goes on the 20 failures its address may spend (each a
  // scrypt); what the accept cut is for, and what an attack that lasts looks like, is what follows.
  const seconds = numberFlag(args, '--seconds', 8);
  const floodHttp = numberFlag(args, '--flood-http', 16);
  const floodMqttRate = numberFlag(args, '--flood-mqtt-rate', 200);
  const pin = !args.includes('--no-pin');
  const why = pin ? cannotPin() : undefined;
  if (why) throw new Error(`auth-flood: cannot pin processes to CPUs (${why}); run with --no-pin`);
  const head = reportHead('auth-flood', args); // before pinning: the machine's cores, not this process's
  // The cloud inherits this at its start, and is moved to CLOUD_CPU once it is up.
  if (pin) pinProcess(process.pid, CLIENT_CPU);
  const unlimited = { ratePerSec: 1_000_000, burst: 1_000_000 };
  const results = [
    await runConfig('default limits', undefined, seconds, floodHttp, floodMqttRate, pin),
    await runConfig('no per-address budget', unlimited, seconds, floodHttp, floodMqttRate, pin),
  ];
  const rows = results.map((r) =>
    [
      r.name,
      ms(r.alone.inferP50Ms),
      ms(r.flooded.inferP50Ms),
      r.inferRatio.toFixed(2),
      ms(r.alone.connectP50Ms),
      ms(r.flooded.connectP50Ms),
      r.connectRatio.toFixed(2),
      `${r.alone.connectsRefused} / ${r.flooded.connectsRefused}`,
    ].join(' | '),
  );
  const costs = results.map((r) =>
    [
      r.name,
      `${ms(r.alone.cloud.loopDelayP50Ms)} / ${ms(r.alone.cloud.loopDelayP99Ms)}`,
      `${ms(r.flooded.cloud.loopDelayP50Ms)} / ${ms(r.flooded.cloud.loopDelayP99Ms)}`,
      `${cpuShare(r.alone)} / ${cpuShare(r.flooded)}`,
      counts(r.flooded.cloud.authFailures) || '—',
      `${((100 * r.flood.cpuMs) / r.flood.ms).toFixed(0)} %`,
      `${ms(r.alone.clientLoopDelayP50Ms)} / ${ms(r.alone.clientLoopDelayP99Ms)}`,
      `${ms(r.flooded.clientLoopDelayP50Ms)} / ${ms(r.flooded.clientLoopDelayP99Ms)}`,
    ].join(' | '),
  );
  const floods = results.map((r) => `${r.name} | ${counts(r.flood.http)} | ${counts(r.flood.mqtt)}`);
  const limited = results[0]!;
  const targets = [
    target('infer p50, flooded / alone', limited.inferRatio.toFixed(2), '≤ 2', limited.inferRatio <= 2),
    target('CONNECT p50, flooded / alone', limited.connectRatio.toFixed(2), '≤ 2', limited.connectRatio <= 2),
  ];
  const d = AUTH_THROTTLE_DEFAULTS;
  const markdown = [
    '# Auth flood: a valid client under a flood of bad credentials',
    '',
    machineLine(head.at, head.machine),
    '',
    `\`${head.command}\`: a \`fogline cloud\` process (one worker, one intra-op thread) with one edge enrolled;`,
    `in the bench process, a valid edge client at ${VALID_ADDRESS} (sequential OIP infers with its token, ${VALID_INFERS_PER_SEC}/s at most, and`,
    `MQTT CONNECTs as that edge, ${VALID_CONNECTS_PER_SEC}/s at most), ${seconds} s alone, then ${seconds} s while ${FLOOD_ADDRESS} floods`,
    `(${floodHttp} concurrent infer loops and ${floodMqttRate} CONNECTs/s, each with a fresh wrong token for the`,
    `same edge id). Default limits: ${d.perAddress.burst} failures per address, forgiven ${d.perAddress.ratePerSec}/s;`,
    'the second run lifts the per-address budget (`--auth-fail-rate 1000000 --auth-fail-burst 1000000`:',
    'scrypt checks then bounded only by the pool).',
    pin
      ? `Processes pinned (\`taskset\`), the same in both phases: the cloud on CPU ${CLOUD_CPU}; the bench process (valid client) on CPU ${CLIENT_CPU}, and the flooder on CPU ${CLIENT_CPU} at \`nice -n ${FLOODER_NICE}\`, standing in for an attacker on other machines (the valid client gets its core when it needs it).`
      : 'Not pinned (`--no-pin`): cloud, valid client and flooder share all the cores of the box.',
    '',
    targetsTable(targets),
    '',
    table(
      'limits | infer p50 alone ms | infer p50 flooded ms | ratio | CONNECT p50 alone ms | CONNECT p50 flooded ms | ratio | valid CONNECTs refused alone / flooded',
      rows,
    ),
    '',
    'Where the time goes, read from the `fogline cloud` process while the valid client was measured: its',
    'event-loop delay (its /metrics, `fogline_nodejs_eventloop_lag_p50/p99_seconds`, prom-client sampling',
    'every 10 ms and counting that period: 10 ms is no delay; reset at the start of each phase), its CPU',
    'time (all threads, scrypt included) in % of one core, and its HTTP failed authentications',
    '(`fogline_auth_failures_total`; invalid: a lookup and a scrypt, the token being fresh; throttled: a',
    '429 before any lookup; throttled-at-accept: a connection cut at accept, unread); and the',
    `flooder's own CPU over its flood (${pin ? `on CPU ${CLIENT_CPU} at nice ${FLOODER_NICE} here` : 'on the same cores here'}, on other machines in a deployment);`,
    "and the valid client's own event-loop delay (this process, `monitorEventLoopDelay` at 10 ms resolution:",
    '10 ms is no delay), which grows when its core is taken from it:',
    '',
    table(
      'limits | cloud event-loop delay p50 / p99 alone ms | flooded ms | cloud CPU % of a core alone / flooded | HTTP auth failures flooded | flooder CPU % of a core | valid client event-loop delay p50 / p99 alone ms | flooded ms',
      costs,
    ),
    '',
    'What the flood got back:',
    '',
    table('limits | HTTP status: count | CONNACK code: count', floods),
    '',
  ].join('\n');
  writeReport('auth-flood', { ...head, seconds, floodHttp, floodMqttRate, pin, results, targets }, markdown);
}
