/**
 * `npm run bench -- audit-latency [--rate 50] [--seconds 6] [--rounds 3] [--shift <preset>]`: the
 * device's answer latency with audits off, at 2 % and at 20 %, with the tiers in their own processes as a deployment runs
 * them (the drift bench's `--live` runs all three in one event loop, where the cloud's audit passes
 * delay the device's answers). `fogline cloud` (startFoglineProcess, PGlite, committed models), the
 * edge agent in a bench child (audit-latency-edge.ts: the agent `fogline edge` runs, enrolled through
 * the admin API) and one SDK device in this process, sending in-distribution test digits (`--shift`:
 * a shifted stream of them, shared/src/digits/shift-spec.ts) open loop at `--rate` per second. The
 * edge's audit rate cycles 0, 0.02, 0.2, the order rotated each round.
 * Report: bench/reports/audit-latency.{md,json} (with `--shift`: audit-latency-<preset>.{md,json}).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { startFoglineProcess } from '@fogline/cli/testing';
import { CloudAdminClient, resolveAdminTarget } from '@fogline/cloud';
import { eventually } from '@fogline/cloud/testing';
import { connectDevice, type Device } from '@fogline/device-sdk';
import {
  collectStream,
  DIGIT_PIXELS,
  type DigitsData,
  isShiftPreset,
  loadDigits,
  SHIFT_PRESETS,
} from '@fogline/shared/digits';
import { childExecArgv } from '../lib/child.ts';
import { numberFlag, stringFlag } from '../lib/flags.ts';
import {
  machineLine,
  ms,
  reportHead,
  type Target,
  table,
  target,
  targetsTable,
  writeReport,
} from '../lib/report.ts';
import { latencyFigures } from '../lib/stats.ts';
import type { EdgePlan, RateChange } from './audit-latency-edge.ts';

const EDGE = 'latency-edge';
const DEVICE = 'latency-dev';
const RATES = [0, 0.02, 0.2] as const;
const DEADLINE_MS = 2000;

/** The edge child: send it lines, read its answers one by one. */
function startEdgeChild(plan: EdgePlan) {
  const script = fileURLToPath(new URL('./audit-latency-edge.ts', import.meta.url));
  const child: ChildProcess = spawn(process.execPath, [...childExecArgv(), script], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const replies = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const next = async <T>(): Promise<T> => {
    const line = await replies.next();
    if (line.done) throw new Error(`the edge child exited (${await exited})`);
    return JSON.parse(line.value) as T;
  };
  const send = (o: object) => child.stdin!.write(`${JSON.stringify(o)}\n`);
  send(plan);
  return { next, send, end: () => child.stdin!.end(), exited, kill: () => child.kill() };
}

interface Phase {
  readonly round: number;
  readonly auditRate: number;
  readonly latencyMs: number[];
  readonly errors: number;
  readonly auditsSent: number;
  readonly overBudget: number;
}

/** `rate` requests a second for `seconds`, each sent on its schedule whatever the answers do. */
async function openLoop(device: Device, test: DigitsData, rate: number, seconds: number, first: number) {
  const calls: Promise<number | undefined>[] = [];
  const start = performance.now();
  const total = Math.round(rate * seconds);
  for (let i = 0; i < total; i++) {
    const wait = start + (i * 1000) / rate - performance.now();
    if (wait > 0) await sleep(wait);
    const k = (first + i) % test.count;
    const input = test.images.slice(k * DIGIT_PIXELS, (k + 1) * DIGIT_PIXELS);
    calls.push(
      device.infer(input, { deadlineMs: DEADLINE_MS }).then(
        (r) => r.latencyMs.total,
        () => undefined,
      ),
    );
  }
  const results = await Promise.all(calls);
  const latencyMs = results.filter((v): v is number => v !== undefined);
  return { latencyMs, errors: results.length - latencyMs.length };
}

function summaryOf(phases: readonly Phase[]) {
  const of = (p: number) => phases.filter((x) => x.auditRate === p);
  const base = latencyFigures(of(0).flatMap((x) => x.latencyMs));
  return RATES.map((auditRate) => {
    const mine = of(auditRate);
    const f = latencyFigures(mine.flatMap((x) => x.latencyMs));
    const sum = (k: 'errors' | 'auditsSent' | 'overBudget') => mine.reduce((a, x) => a + x[k], 0);
    return {
      auditRate,
      ...f,
      ratio: { p50: f.p50Ms / base.p50Ms, p90: f.p90Ms / base.p90Ms, p99: f.p99Ms / base.p99Ms },
      perRoundP50Ms: mine.map((x) => latencyFigures(x.latencyMs).p50Ms),
      errors: sum('errors'),
      auditsSent: sum('auditsSent'),
      auditsOverBudget: sum('overBudget'),
    };
  });
}

type Summary = ReturnType<typeof summaryOf>;

interface Report extends ReturnType<typeof reportHead> {
  readonly settings: {
    readonly shift: string;
    readonly rate: number;
    readonly seconds: number;
    readonly rounds: number;
  };
  readonly targets: Target[];
  readonly rows: Summary;
  readonly edge: unknown;
}

function markdown(r: Report) {
  const s = r.settings;
  const rows = r.rows.map(
    (x) =>
      `${x.auditRate === 0 ? 'off' : `${100 * x.auditRate} %`} | ${x.requests} | ${x.errors} | ${ms(x.p50Ms)} | ${ms(x.p90Ms)} | ${ms(x.p99Ms)} | ${x.ratio.p50.toFixed(2)} / ${x.ratio.p90.toFixed(2)} / ${x.ratio.p99.toFixed(2)} | ${x.perRoundP50Ms.map((v) => ms(v)).join(', ')} | ${x.auditsSent} (${((100 * x.auditsSent) / Math.max(1, x.requests)).toFixed(1)} %)`,
  );
  return `# Audits on vs off: the device's answer latency, tiers in their own processes

\`${r.command}\` · ${machineLine(r.at, r.machine)}

\`fogline cloud\` (its own process: PGlite, committed models, digits-large for audits and escalations),
the edge agent in its own process (digits-mid-int8, embedded broker on 127.0.0.1; enrolled with its
device through the admin API) and one SDK device (digits-tiny, its calibrated policy) in the bench
process, sending test digits (shift: ${s.shift}) open loop at ${s.rate}/s, deadline ${DEADLINE_MS} ms. The
edge's audit rate (its device policy message) cycles off, 2 %, 20 % in ${s.rounds} rounds of ${s.seconds} s
each, the order rotated per round, every setting of a round on the same inputs. Latency: the SDK's \`latencyMs.total\` of each answered call,
nearest-rank percentiles pooled over the rounds; ratio to audits off.

${targetsTable(r.targets)}

${table('audits | answered | errors | p50 ms | p90 ms | p99 ms | ratio p50 / p90 / p99 | p50 per round | audits sent', rows)}

Edge over the whole run (warm-up included; audit relay, reports read from the device): \`${JSON.stringify(r.edge)}\`
`;
}

export default async function run(args: string[] = []): Promise<void> {
  const rate = numberFlag(args, '--rate', 50);
  const seconds = numberFlag(args, '--seconds', 6);
  const rounds = Math.round(numberFlag(args, '--rounds', 3));
  const shift = stringFlag(args, '--shift');
  if (shift !== undefined && !isShiftPreset(shift))
    throw new Error(`--shift: "${shift}" is not one of ${Object.keys(SHIFT_PRESETS).join(', ')}`);
  const data: DigitsData = shift
    ? collectStream({ seed: 1, segments: [{ count: 2000, shift: SHIFT_PRESETS[shift] }] })
    : loadDigits('test');
  const name = shift ? `audit-latency-${shift}` : 'audit-latency';
  const root = mkdtempSync(join(tmpdir(), 'fogline-audit-latency-'));
  const cloudDir = join(root, 'cloud');
  const cloud = await startFoglineProcess<{ http: { url: string }; mqtt: { url: string } }>([
    ...['cloud', '--host', '127.0.0.1', '--http-port', '0', '--mqtt-port', '0', '--data-dir', cloudDir],
    ...['--sizing', 'default', '--workers', '1', '--intra-op-threads', '1'],
  ]);
  let edge: ReturnType<typeof startEdgeChild> | undefined;
  let device: Device | undefined;
  try {
    const admin = new CloudAdminClient(await resolveAdminTarget({ dataDir: cloudDir }));
    const { token } = await admin.createEdge(EDGE);
    const dev = await admin.createDevice(DEVICE, EDGE);
    const dataDir = join(root, 'edge');
    mkdirSync(dataDir, { mode: 0o700 });
    edge = startEdgeChild({
      edgeId: EDGE,
      token,
      cloudUrl: cloud.ready.http.url,
      cloudBrokerUrl: cloud.ready.mqtt.url,
      dataDir,
      deviceModel: 'digits-tiny:1',
    });
    const { ready } = await edge.next<{ ready: { mqttPort: number } }>();
    await eventually(async () => {
      const view = await admin.getEdge(EDGE);
      return view.online && view.deviceListVersion !== null;
    }, 30_000);
    device = await connectDevice({
      broker: `mqtt://127.0.0.1:${ready.mqttPort}`,
      deviceId: DEVICE,
      token: dev.token,
      edgeId: EDGE,
      runtime: 'node',
      modelUpdates: false,
      auditSeed: 7,
      // The device's own report budget (default 4/s) would cap 20 % of 50/s at 4/s: opened (the edge's
      // report bucket too, audit-latency-edge.ts), so that the rate set is the rate sent.
      auditBudget: { ratePerSec: 1000, burst: 1000 },
    });
    const d = device;
    const e = edge;
    const policy = { score: d.policy.score, threshold: d.policy.threshold };
    const setRate = async (auditRate: number) => {
      e.send({ auditRate, policy } satisfies RateChange);
      const { published } = await e.next<{ published: number }>();
      await eventually(() => d.policy.edgeVersion === published, 5_000);
    };
    await setRate(0);
    await openLoop(d, data, rate, 3, 0); // warm-up: sessions, sockets, JIT
    const phases: Phase[] = [];
    for (let round = 0; round < rounds; round++) {
      // Every setting of a round sends the same inputs (a slice of the stream with more escalations
      // would otherwise favour one setting); each round another slice.
      const first = Math.round((3 + round * seconds) * rate);
      const order = [...RATES.slice(round % 3), ...RATES.slice(0, round % 3)];
      for (const auditRate of order) {
        await setRate(auditRate);
        const before = d.stats().audits;
        const r = await openLoop(d, data, rate, seconds, first);
        await sleep(200); // audits are sent on a later macrotask than their answer
        const after = d.stats().audits;
        phases.push({
          round,
          auditRate,
          ...r,
          auditsSent: after.sent - before.sent,
          overBudget: after.overBudget - before.overBudget,
        });
        const f = latencyFigures(r.latencyMs);
        console.log(
          `round ${round + 1}, audits ${auditRate}: p50 ${ms(f.p50Ms)} ms, p99 ${ms(f.p99Ms)} ms, ${after.sent - before.sent} audits, ${r.errors} errors`,
        );
      }
    }
    e.end();
    const edgeCounts = (await e.next<{ counts: unknown }>()).counts;
    const rows = summaryOf(phases);
    const at2 = rows.find((x) => x.auditRate === 0.02)!;
    const targets = [
      target(
        'answer latency, audits 2 % vs off (p50 / p90 ratio)',
        `${at2.ratio.p50.toFixed(2)} / ${at2.ratio.p90.toFixed(2)}`,
        '≤ 1.10 (same distribution)',
        at2.ratio.p50 <= 1.1 && at2.ratio.p90 <= 1.1,
      ),
    ];
    const report = {
      ...reportHead('audit-latency', args),
      settings: {
        shift: shift ?? 'none (test split)',
        rate,
        seconds,
        rounds,
        deadlineMs: DEADLINE_MS,
        rates: RATES,
      },
      targets,
      rows,
      edge: edgeCounts,
      phases: phases.map(({ latencyMs, ...p }) => ({ ...p, ...latencyFigures(latencyMs) })),
    };
    writeReport(name, report, markdown(report));
  } finally {
    await device?.close().catch(() => {});
    if (edge) {
      edge.end();
      await Promise.race([edge.exited, sleep(15_000)]);
      edge.kill();
    }
    await cloud.stop();
    rmSync(root, { recursive: true, force: true });
  }
}
