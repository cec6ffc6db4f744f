/**
 * `npm run bench -- cloud [--seconds N] [--rounds N] [--workers N] [--intra-op-threads N] [--max-queue-delay-ms N]`
 *
 * Raw onnxruntime-node on digits-large (one session, best over batch 1…64 and 1…cores intra-op
 * threads: the limit of the box) against the gateway (`CloudServer` in this process, API-key auth
 * on) at concurrency 1, 16 and 64, single-sample requests over keep-alive, binary and JSON, from the
 * load generator in its own process. Every gateway round is paired with raw figures taken just
 * before it; each point is the median over `--rounds`. Then a bare node:http floor and the CPU budget.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { binaryInferRequest, digits, jsonInferBody, startCloud } from '@fogline/cloud/testing/cloud-fixture';
import { DEFAULT_MODELS_DIR } from '@fogline/shared/model-repository/index';
import { defaultEngineSizing } from '@fogline/shared/runtime/index';
import { measureHttpFloor } from './cloud/floor.ts';
import { type GatewayRound, MODEL, MODES, type Mode, markdown, summarise } from './cloud/markdown.ts';
import { cpuBudget } from './lib/cpu-budget.ts';
import { numberFlag } from './lib/flags.ts';
import { openRaw, type RawBaseline, type RawPoint, sweep } from './lib/raw-onnx.ts';
import { machine, writeReport } from './lib/report.ts';
import { type HttpLoadPlan, runLoad } from './load/run-load.ts';

const MODEL_PATH = join(DEFAULT_MODELS_DIR, MODEL, '1', 'model.onnx');

/** Single-digit request bodies (base64) with their headers, 64 different digits. */
function requestBodies(mode: Mode) {
  const { images } = digits(64);
  return Array.from({ length: 64 }, (_, i) => {
    const image = images.slice(i * 784, (i + 1) * 784);
    const { body, headers } =
      mode === 'json'
        ? { body: jsonInferBody(image), headers: { 'content-type': 'application/json' } }
        : binaryInferRequest(image);
    return { base64: Buffer.from(body).toString('base64'), headers };
  });
}

async function batchCounters(url: string): Promise<{ executions: number; inferences: number }> {
  const res = await fetch(`${url}/v2/models/${MODEL}/stats`);
  const [s] = ((await res.json()) as { model_stats: { execution_count: number; inference_count: number }[] })
    .model_stats;
  return { executions: s!.execution_count, inferences: s!.inference_count };
}

/** Raw (best configuration, and batch 1 like a gateway worker) just before, then the gateway. */
async function gatewayRound(
  plan: HttpLoadPlan,
  rawBest: RawBaseline,
  bestBatch: number,
  rawSingle: RawBaseline,
): Promise<GatewayRound> {
  const rawPaired = await rawBest.measure(bestBatch, 600);
  const rawSingleP50Ms = (await rawSingle.single(400)).p50Ms;
  const before = await batchCounters(plan.url);
  const cpu = process.cpuUsage();
  const load = await runLoad(plan);
  const spent = process.cpuUsage(cpu);
  const after = await batchCounters(plan.url);
  const reqPerSec = load.completed / load.seconds;
  return {
    reqPerSec,
    p50Ms: load.latency.p50Ms,
    p99Ms: load.latency.p99Ms,
    errors: Object.values(load.errors).reduce((a, b) => a + b, 0),
    meanBatch: (after.inferences - before.inferences) / Math.max(1, after.executions - before.executions),
    rawBestSamplesPerSec: rawPaired.samplesPerSec,
    rawSingleP50Ms,
    efficiency: reqPerSec / rawPaired.samplesPerSec,
    addedP50Ms: load.latency.p50Ms - rawSingleP50Ms,
    gatewayCpuMicros: (spent.user + spent.system) / Math.max(1, load.total),
    loadCpuMicros: load.cpuMicrosPerRequest,
  };
}

export default async function run(args: string[] = []): Promise<void> {
  const seconds = numberFlag(args, '--seconds', 3);
  const rounds = numberFlag(args, '--rounds', 3);
  const cores = availableParallelism();
  const sizing = defaultEngineSizing();
  const workers = numberFlag(args, '--workers', sizing.workers);
  const intraOpThreads = numberFlag(args, '--intra-op-threads', sizing.intraOpThreads);
  const maxQueueDelayMs = numberFlag(args, '--max-queue-delay-ms');

  // 1. Which session configuration and batch size is the raw limit (onnxruntime's defaults: spinning on).
  const rawSweep: (RawPoint & { intraOpThreads: number })[] = [];
  for (const threads of [...new Set([1, intraOpThreads, cores])].sort()) {
    const raw = await openRaw({ modelPath: MODEL_PATH, sessions: 1, intraOpThreads: threads, spin: true });
    for (const p of (await sweep(raw, [1, 2, 4, 8, 16, 32, 64], 800)).points)
      rawSweep.push({ ...p, intraOpThreads: threads });
    await raw.close();
  }
  const best = rawSweep.reduce((a, b) => (b.samplesPerSec > a.samplesPerSec ? b : a));
  console.log(
    `raw best: ${best.samplesPerSec.toFixed(0)} samples/s, ${best.intraOpThreads} thread(s), batch ${best.batch}`,
  );
  const rawBest = await openRaw({
    modelPath: MODEL_PATH,
    sessions: 1,
    intraOpThreads: best.intraOpThreads,
    spin: true,
  });
  const rawSingle = await openRaw({ modelPath: MODEL_PATH, sessions: 1, intraOpThreads, spin: false });

  // 2. The gateway, warmed by a short run of each mode, then the paired rounds.
  const serving = { workers, intraOpThreads, ...(maxQueueDelayMs === undefined ? {} : { maxQueueDelayMs }) };
  const cloud = await startCloud({ serving });
  try {
    const key = await cloud.createKey('bench', 1e6, 1e6);
    const bodies = { binary: requestBodies('binary'), json: requestBodies('json') };
    const plan = (mode: Mode, concurrency: number, durationMs = seconds * 1000): HttpLoadPlan => ({
      protocol: 'http',
      url: cloud.url,
      path: `/v2/models/${MODEL}/infer`,
      headers: { authorization: `Bearer ${key}` },
      bodies: bodies[mode],
      connections: concurrency,
      inFlightPerConnection: 1,
      warmupMs: 500,
      durationMs,
    });
    for (const mode of MODES) await runLoad(plan(mode, 64, 1500));
    const gateway = [];
    for (const mode of MODES) {
      for (const concurrency of [1, 16, 64]) {
        const done: GatewayRound[] = [];
        for (let r = 0; r < rounds; r++)
          done.push(await gatewayRound(plan(mode, concurrency), rawBest, best.batch, rawSingle));
        const point = summarise(mode, concurrency, done);
        gateway.push(point);
        console.log(
          `gateway ${mode} c=${concurrency}: ${point.reqPerSec.toFixed(0)} req/s, p50 ${point.p50Ms.toFixed(2)} ms, errors ${point.errors}`,
        );
      }
    }
    // 3. The floor: a bare node:http server answering the gateway's own binary response bytes.
    const sample = bodies.binary[0]!;
    const res = await fetch(`${cloud.url}/v2/models/${MODEL}/infer`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, ...sample.headers },
      body: Buffer.from(sample.base64, 'base64'),
    });
    const responseHeaders = Object.fromEntries(
      ['content-type', 'inference-header-content-length'].map((h) => [h, res.headers.get(h) ?? '']),
    );
    const response = { body: new Uint8Array(await res.arrayBuffer()), headers: responseHeaders };
    const floor = await measureHttpFloor(response, (url) => runLoad({ ...plan('binary', 64), url }));

    // The box's limit is the best raw figure of the whole run: a paired raw run caught by a burst of
    // background load would otherwise flatter the gateway. Targets use it; the paired ratio stays.
    const limit = Math.max(
      best.samplesPerSec,
      ...gateway.flatMap((g) => g.rounds.map((r) => r.rawBestSamplesPerSec)),
    );
    for (const g of gateway)
      Object.assign(g, { efficiencyPaired: g.efficiency, efficiency: g.reqPerSec / limit });
    const c64 = gateway.find((g) => g.mode === 'binary' && g.concurrency === 64)!;
    const budget = cpuBudget({
      cores,
      rawSamplesPerSec: limit,
      rawThreads: best.intraOpThreads,
      floorMicros: floor.serverCpuMicros,
      loadMicros: c64.loadCpuMicros,
      serverMicros: c64.gatewayCpuMicros,
      targetRatio: 0.9,
    });
    const report = {
      model: MODEL,
      at: new Date().toISOString(),
      command: `npm run bench -- cloud${args.length ? ` ${args.join(' ')}` : ''}`,
      machine: machine(),
      gatewayEngine: { workers, intraOpThreads, maxQueueDelayMs: maxQueueDelayMs ?? 'from config.json' },
      method: {
        rounds,
        secondsPerRound: seconds,
        loadGenerator: 'bench/load (child process, keep-alive sockets)',
      },
      rawBest: best,
      rawSweep,
      gateway,
      floor,
      budget,
    };
    writeReport('cloud', report, markdown(report));
  } finally {
    await cloud.stop();
    await rawBest.close();
    await rawSingle.close();
  }
}
