/**
 * `npm run bench -- cloud [--seconds N] [--rounds N] [--workers N] [--intra-op-threads N] [--max-queue-delay-ms N]`
 *
 * Raw onnxruntime-node on digits-large (one session, best over batch 1…64 and 1…cores intra-op
 * threads: the limit of the box) against the gateway (`CloudServer` in this process, API-key auth
 * on) at concurrency 1, 16 and 64, single-sample requests over keep-alive, binary and JSON, from the
 * load generator in its own process. Every gateway round is paired with raw figures taken just
 * before it. Efficiency = gateway req/s ÷ the best raw figure of the run (conservative; the paired
 * ratio alongside); added p50 at c=1 = gateway p50 − raw batch-1 p50 (a session like the gateway's
 * workers). Each point is the median over `--rounds`. Then a bare node:http floor and the CPU budget.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudServer } from '@fogline/cloud';
import { binaryInferRequest, digits, jsonInferBody } from '@fogline/cloud/testing/cloud-fixture';
import { DEFAULT_MODELS_DIR } from '@fogline/shared/model-repository/index';
import { defaultEngineSizing } from '@fogline/shared/runtime/index';
import { measureHttpFloor } from './cloud/floor.ts';
import { type GatewayRound, MODEL, MODES, type Mode, markdown, summarise } from './cloud/markdown.ts';
import { cpuBudget } from './lib/cpu-budget.ts';
import { numberFlag } from './lib/flags.ts';
import { openRaw, type RawPoint, sweep } from './lib/raw-onnx.ts';
import { machine, writeReport } from './lib/report.ts';
import { type HttpLoadPlan, runLoad } from './load/run-load.ts';

const BATCHES = [1, 2, 4, 8, 16, 32, 64];
const CONCURRENCY = [1, 16, 64];
const MODEL_PATH = join(DEFAULT_MODELS_DIR, MODEL, '1', 'model.onnx');

async function batchCounters(url: string): Promise<{ executions: number; inferences: number }> {
  const res = await fetch(`${url}/v2/models/${MODEL}/stats`);
  const stats = (await res.json()) as { model_stats: { execution_count: number; inference_count: number }[] };
  return {
    executions: stats.model_stats[0]!.execution_count,
    inferences: stats.model_stats[0]!.inference_count,
  };
}

function requestBodies(mode: Mode) {
  const { images } = digits(64);
  return Array.from({ length: 64 }, (_, i) => {
    const image = images.slice(i * 784, (i + 1) * 784);
    if (mode === 'json') {
      return {
        base64: Buffer.from(jsonInferBody(image)).toString('base64'),
        headers: { 'content-type': 'application/json' },
      };
    }
    const { body, headers } = binaryInferRequest(image);
    return { base64: Buffer.from(body).toString('base64'), headers };
  });
}

export default async function run(args: string[] = []): Promise<void> {
  const seconds = numberFlag(args, '--seconds', 3);
  const rounds = numberFlag(args, '--rounds', 3);
  const cores = availableParallelism();
  const sizing = defaultEngineSizing();
  const workers = numberFlag(args, '--workers', sizing.workers);
  const intraOpThreads = numberFlag(args, '--intra-op-threads', sizing.intraOpThreads);
  const maxQueueDelayMs = numberFlag(args, '--max-queue-delay-ms');
  console.log(
    `cloud bench: ${MODEL}, ${cores} cores, gateway ${workers} × ${intraOpThreads} thread(s), ${rounds} × ${seconds} s`,
  );

  // 1. Which session configuration and batch size is the raw limit (onnxruntime's defaults: spinning on).
  const rawSweep: (RawPoint & { intraOpThreads: number })[] = [];
  for (const threads of [...new Set([1, intraOpThreads, cores])].sort()) {
    const raw = await openRaw({ modelPath: MODEL_PATH, sessions: 1, intraOpThreads: threads, spin: true });
    for (const p of (await sweep(raw, BATCHES, 800)).points) rawSweep.push({ ...p, intraOpThreads: threads });
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

  // 2. The gateway, warmed by a short run of each mode, then paired rounds.
  const dataDir = mkdtempSync(join(tmpdir(), 'fogline-bench-cloud-'));
  const server = new CloudServer({
    httpPort: 0,
    host: '127.0.0.1',
    mqttPort: null,
    dataDir,
    serving: { workers, intraOpThreads, ...(maxQueueDelayMs === undefined ? {} : { maxQueueDelayMs }) },
  });
  const gateway = [];
  try {
    const ready = await server.start();
    const created = await fetch(`${ready.http.url}/api/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ready.adminToken.token}` },
      body: JSON.stringify({ name: 'bench', ratePerSec: 1e6, burst: 1e6 }),
    });
    const { key } = (await created.json()) as { key: string };
    const bodies = { binary: requestBodies('binary'), json: requestBodies('json') };
    const plan = (mode: Mode, concurrency: number, durationMs: number): HttpLoadPlan => ({
      protocol: 'http',
      url: ready.http.url,
      path: `/v2/models/${MODEL}/infer`,
      headers: { authorization: `Bearer ${key}` },
      bodies: bodies[mode],
      connections: concurrency,
      inFlightPerConnection: 1,
      warmupMs: 500,
      durationMs,
    });
    for (const mode of MODES) await runLoad(plan(mode, 64, 1500));
    for (const mode of MODES) {
      for (const concurrency of CONCURRENCY) {
        const done: GatewayRound[] = [];
        for (let r = 0; r < rounds; r++) {
          const rawPaired = await rawBest.measure(best.batch, 600);
          const rawP50 = (await rawSingle.single(400)).p50Ms;
          const before = await batchCounters(ready.http.url);
          const cpu = process.cpuUsage();
          const load = await runLoad(plan(mode, concurrency, seconds * 1000));
          const spent = process.cpuUsage(cpu);
          const after = await batchCounters(ready.http.url);
          const reqPerSec = load.completed / load.seconds;
          done.push({
            reqPerSec,
            p50Ms: load.latency.p50Ms,
            p99Ms: load.latency.p99Ms,
            errors: Object.values(load.errors).reduce((a, b) => a + b, 0),
            meanBatch:
              (after.inferences - before.inferences) / Math.max(1, after.executions - before.executions),
            rawBestSamplesPerSec: rawPaired.samplesPerSec,
            rawSingleP50Ms: rawP50,
            efficiency: reqPerSec / rawPaired.samplesPerSec,
            addedP50Ms: load.latency.p50Ms - rawP50,
            gatewayCpuMicros: (spent.user + spent.system) / Math.max(1, load.total),
            loadCpuMicros: load.cpuMicrosPerRequest,
          });
        }
        const point = summarise(mode, concurrency, done);
        gateway.push(point);
        console.log(
          `gateway ${mode} c=${concurrency}: ${point.reqPerSec.toFixed(0)} req/s, p50 ${point.p50Ms.toFixed(2)} ms, paired efficiency ${point.efficiency.toFixed(2)}, errors ${point.errors}`,
        );
      }
    }
    // 3. The floor: a bare node:http server answering the gateway's own binary response bytes.
    const sample = bodies.binary[0]!;
    const res = await fetch(`${ready.http.url}/v2/models/${MODEL}/infer`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, ...sample.headers },
      body: Buffer.from(sample.base64, 'base64'),
    });
    const floor = await measureHttpFloor(
      {
        body: new Uint8Array(await res.arrayBuffer()),
        headers: {
          'content-type': res.headers.get('content-type') ?? 'application/octet-stream',
          'inference-header-content-length': res.headers.get('inference-header-content-length') ?? '0',
        },
      },
      (url) => runLoad({ ...plan('binary', 64, seconds * 1000), url }),
    );
    console.log(
      `bare node:http c=64: ${floor.reqPerSec.toFixed(0)} req/s, server ${floor.serverCpuMicros.toFixed(1)} µs/request`,
    );

    // The box's limit is the best raw figure of the whole run: a paired raw run caught by a burst of
    // background load would otherwise flatter the gateway. Targets use this ratio; the paired one stays.
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
    await server.stop();
    await rawBest.close();
    await rawSingle.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
