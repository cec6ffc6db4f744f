/**
 * `npm run bench -- stitched [--seconds N] [--rounds N] [--in-flight N] [--sizing probe|default]
 *   [--broker URL] [--broker-pid-file PATH] [--stitched-threads N] [--no-mosquitto]`: fogline's edge against what a team
 * would stitch together instead (the local Mosquitto + one MQTT.js subscriber running the same INT8
 * model with onnxruntime-node, bench/stitched/subscriber.ts), and against the bare Aedes echo broker
 * (bench/fabric/floor.ts), under the same load in alternating rounds on the same box. A fourth row,
 * the same edge on that Mosquitto (external local broker), splits the broker's cost from the edge's.
 *
 * The edge runs with everything it adds switched on: device auth and ACL on its embedded broker, the
 * per-device publish bucket, request deadlines, and a cloud tier with its breaker, pointed at nothing
 * with routing threshold 0 so that, like the stitched subscriber, it answers every request itself.
 * `--no-mosquitto` (a machine without Mosquitto, e.g. the lent 16-core one): the edge and the echo rows
 * only, so the edge's CPU target, without the stitched comparison.
 */
import { loadavg } from 'node:os';
import { AGENT_DEFAULTS } from '@fogline/edge-agent';
import { UNREACHABLE_CLOUD_URL } from '@fogline/edge-agent/testing';
import { DEFAULT_MODELS_DIR, loadModelRepository } from '@fogline/shared/model-repository';
import { chooseSizing, SIZING_MODES, type SizingMode } from '@fogline/shared/runtime';
import { measureBrokerFloor } from './fabric/floor.ts';
import { benchDevices, snapshotModels, startBenchEdge } from './fabric/stack.ts';
import { loadPlan } from './fabric/throughput.ts';
import { numberFlag, stringFlag } from './lib/flags.ts';
import { processCpuMicros, startCounters } from './lib/process-counters.ts';
import { openRaw, type RawBaseline, sweep } from './lib/raw-onnx.ts';
import { ms, reportHead, writeReport } from './lib/report.ts';
import { round } from './lib/stats.ts';
import { type LoadResult, runLoad } from './load/run-load.ts';
import { renderMarkdown, summarizeRounds, type TargetRound } from './stitched/markdown.ts';
import { brokerPid, startStitched } from './stitched/stitched-process.ts';

const DEVICES = 64;

/** What every target's round reports of its load. */
const served = (r: LoadResult) => ({
  reqPerSec: r.completed / r.seconds,
  latency: r.latency,
  loadCpuMicros: r.cpuMicrosPerRequest,
  errors: r.errors,
});

export type StitchedReport = Awaited<ReturnType<typeof measure>> & ReturnType<typeof reportHead>;

async function measure(args: string[], log: (m: string) => void) {
  const seconds = numberFlag(args, '--seconds', 5);
  const rounds = numberFlag(args, '--rounds', 3);
  const inFlight = numberFlag(args, '--in-flight', 4);
  const broker = stringFlag(args, '--broker') ?? 'mqtt://127.0.0.1:1883';
  const pidFile = stringFlag(args, '--broker-pid-file') ?? '/run/mosquitto/mosquitto.pid';
  const stitchedThreads = args.includes('--stitched-threads') ? numberFlag(args, '--stitched-threads', 1) : 0;
  const withMosquitto = !args.includes('--no-mosquitto');
  const sizingMode = (stringFlag(args, '--sizing') ?? 'probe') as SizingMode;
  if (!SIZING_MODES.includes(sizingMode)) throw new Error('--sizing: probe or default');
  const model = AGENT_DEFAULTS.model;
  const snapshot = await snapshotModels(DEFAULT_MODELS_DIR, [model]);
  let raw: RawBaseline | undefined;
  try {
    const entry = (await loadModelRepository(snapshot.dir)).get(model);
    const modelPath = entry.modelPath();
    const sizing = await chooseSizing(entry.config, entry.latestVersion, modelPath, {
      tier: 'edge',
      sizing: sizingMode,
      probeDir: snapshot.dir,
    });
    log(sizing.line);
    const engine = { workers: sizing.workers, intraOpThreads: sizing.intraOpThreads, sizing: sizingMode };
    // The model alone, with the edge's session settings: its CPU per sample at its best batch, and
    // after each edge round at the batch the edge ran (kept open until the end).
    raw = await openRaw({
      modelPath,
      sessions: engine.workers,
      intraOpThreads: engine.intraOpThreads,
      spin: false,
    });
    const cpuPerSample = (samplesPerSec: number) =>
      (engine.workers * engine.intraOpThreads * 1e6) / samplesPerSec;
    const modelAlone = raw;
    const baseline = await sweep(modelAlone, [1, 4, 16, 32, 64], 1000);
    const modelMicros = cpuPerSample(baseline.best.samplesPerSec);
    log(`raw: ${baseline.best.samplesPerSec.toFixed(0)} samples/s at batch ${baseline.best.batch}`);

    const devices = benchDevices(DEVICES);
    // Mosquitto is shared with other work on this box: topics and client ids of this run only.
    const stitchedId = `stitched-${devices[0]!.token.split('-').pop()}`;
    const stitchedDevices = devices.map((d) => ({ ...d, id: `${stitchedId}-${d.id}` }));
    const b = { modelsDir: snapshot.dir, devices, engine, deadlineMs: 1000, seconds };
    const edge = await startBenchEdge(b, {
      model,
      routingThreshold: 0,
      cloudUrl: UNREACHABLE_CLOUD_URL,
      deviceListPollMs: 0,
    });
    // Mosquitto's rows: the stitched pair, and the same edge on Mosquitto (none with --no-mosquitto).
    async function startOnMosquitto() {
      const pid = brokerPid(pidFile);
      const externalId = `${stitchedId}-edge`;
      const externalDevices = devices.map((d) => ({ ...d, id: `${externalId}-${d.id}` }));
      const external = await startBenchEdge(b, {
        edgeId: externalId,
        localBroker: { kind: 'external', url: broker },
        model,
        routingThreshold: 0,
        cloudUrl: UNREACHABLE_CLOUD_URL,
        deviceListPollMs: 0,
      });
      const stitched = await startStitched({
        broker,
        brokerPid: pid,
        edgeId: stitchedId,
        modelPath,
        modelName: model,
        maxBatchSize: entry.config.max_batch_size,
        intraOpThreads: stitchedThreads,
      }).catch(async (err) => {
        await external.stop();
        throw err;
      });
      return { pid, external, externalId, externalDevices, stitched };
    }
    const onMosquitto = withMosquitto ? await startOnMosquitto() : undefined;
    const measured: TargetRound[] = [];
    try {
      const runEdge = async (): Promise<TargetRound> => {
        const batches = () => edge.agent.batching() ?? { executions: 0, inferences: 0 };
        const before = batches();
        let counters = startCounters();
        const r = await runLoad(loadPlan(b, edge.url, inFlight), () => {
          counters = startCounters();
        });
        const cpuMicros = counters().cpuMicros;
        const after = batches();
        const meanBatch =
          (after.inferences - before.inferences) / Math.max(1, after.executions - before.executions);
        // The model alone at the batch the edge ran, right after its round (same background load):
        // its CPU per sample at batch 36 is not its best batch's.
        const atBatch = Math.min(entry.config.max_batch_size, Math.max(1, Math.round(meanBatch)));
        const modelAtBatch = cpuPerSample((await modelAlone.measure(atBatch, 1000)).samplesPerSec);
        return {
          target: 'fogline edge',
          ...served(r),
          serverCpuMicros: cpuMicros / r.total,
          meanBatch,
          modelMicros: modelAtBatch,
        };
      };
      const runExternal = async (): Promise<TargetRound> => {
        const { pid, externalDevices, externalId } = onMosquitto!;
        let counters = startCounters();
        let mosquittoFrom = processCpuMicros(pid);
        const r = await runLoad(loadPlan(b, broker, inFlight, externalDevices, externalId), () => {
          counters = startCounters();
          mosquittoFrom = processCpuMicros(pid);
        });
        const cpuMicros = counters().cpuMicros + processCpuMicros(pid) - mosquittoFrom;
        return { target: 'fogline edge on Mosquitto', ...served(r), serverCpuMicros: cpuMicros / r.total };
      };
      const runStitched = async (): Promise<TargetRound> => {
        const { stitched } = onMosquitto!;
        let counters = stitched.startCounters();
        const r = await runLoad(loadPlan(b, broker, inFlight, stitchedDevices, stitchedId), () => {
          counters = stitched.startCounters();
        });
        const c = await (await counters)();
        return {
          target: 'stitched',
          ...served(r),
          serverCpuMicros: (c.subscriberCpuMicros + c.brokerCpuMicros) / r.total,
          parts: {
            subscriberCpuMicros: c.subscriberCpuMicros / r.total,
            brokerCpuMicros: c.brokerCpuMicros / r.total,
          },
          meanBatch: c.requests / Math.max(1, c.batches),
        };
      };
      // Closed loop, the echo answers ~2× the edge's requests per second, and a broker's CPU per request
      // falls as its rate rises (more packets per write and per wake-up): "under the same load" is the
      // echo paced at the rate the edge reached in the same round.
      const runFloor = async (ratePerSec?: number): Promise<TargetRound> => {
        const f = await measureBrokerFloor({ ...loadPlan(b, '', inFlight), ratePerSec });
        const { reqPerSec, latency, loadCpuMicros, errors, brokerCpuMicros } = f;
        return {
          target: ratePerSec === undefined ? 'bare Aedes echo' : "bare Aedes echo at the edge's rate",
          reqPerSec,
          latency,
          loadCpuMicros,
          errors,
          serverCpuMicros: brokerCpuMicros,
        };
      };
      for (let i = 0; i < rounds; i++) {
        // Alternate who goes first, so a drift in background load favours neither.
        const order = !onMosquitto
          ? [runEdge, runFloor]
          : i % 2 === 0
            ? [runEdge, runStitched, runExternal, runFloor]
            : [runStitched, runEdge, runExternal, runFloor];
        const edgeRate = () =>
          measured.find((r) => r.round === i + 1 && r.target === 'fogline edge')!.reqPerSec;
        for (const step of [...order, () => runFloor(edgeRate())]) {
          const r = { ...(await step()), round: i + 1, loadAverage: round(loadavg()[0]!, 2) };
          measured.push(r);
          log(
            `round ${i + 1} ${r.target}: ${r.reqPerSec.toFixed(0)} req/s, p50 ${ms(r.latency.p50Ms)} ms, p99 ${ms(r.latency.p99Ms)} ms, errors ${JSON.stringify(r.errors)}, ${r.serverCpuMicros.toFixed(1)} µs CPU/req, load average ${r.loadAverage}`,
          );
        }
      }
    } finally {
      await onMosquitto?.stitched.stop();
      await onMosquitto?.external.stop();
      await edge.stop();
    }
    const settings = {
      seconds,
      rounds,
      concurrency: DEVICES * inFlight,
      broker: withMosquitto ? broker : null,
      stitchedThreads,
      ...engine,
    };
    return {
      sizing: sizing.line,
      settings,
      raw: baseline,
      modelMicros: round(modelMicros, 1),
      ...summarizeRounds(measured, modelMicros),
    };
  } finally {
    await raw?.close();
    await snapshot.remove();
  }
}

export default async function run(args: string[] = []): Promise<void> {
  const began = performance.now();
  const log = (m: string) =>
    console.log(`[stitched ${((performance.now() - began) / 1000).toFixed(0)}s] ${m}`);
  const measured = await measure(args, log);
  const r = { ...reportHead('stitched', args), ...measured };
  writeReport('stitched', r, renderMarkdown(r));
}
