/**
 * The floors under `npm run bench -- cloud`. Throughput: a bare `node:http` server answering the
 * gateway's own response bytes under the same load; its CPU per request is what HTTP alone costs
 * here. Concurrency 1: a bare `node:http` server that runs the model itself, on its own thread, on
 * each binary request's tensor bytes (onnxruntime-node as the gateway's workers are set up, batch 1)
 * and answers the gateway's response bytes: the least any Node gateway can add to a lone request.
 */
import { createServer, type Server } from 'node:http';
import { servingSessionOptions } from '@fogline/shared/runtime';
import * as ort from 'onnxruntime-node';
import { startCounters } from '../lib/process-counters.ts';
import { type HttpLoadPlan, runLoad } from '../load/run-load.ts';

export type HttpFloor = Awaited<ReturnType<typeof measureHttpFloor>>;

/** One response of the real server to `plan`'s first body: its bytes and the headers that frame it. */
async function gatewayAnswer(plan: HttpLoadPlan) {
  const sample = plan.bodies[0]!;
  const res = await fetch(new URL(plan.path, plan.url), {
    method: 'POST',
    headers: { ...plan.headers, ...sample.headers },
    body: Buffer.from(sample.base64, 'base64'),
  });
  const body = Buffer.from(await res.arrayBuffer());
  const headers = Object.fromEntries(
    ['content-type', 'inference-header-content-length'].map((h) => [h, res.headers.get(h) ?? '']),
  );
  return { body, headers };
}

async function listen(server: Server): Promise<string> {
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

async function shut(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** Takes one response of the real server to `plan`'s first body, then runs `plan` against the bare server. */
export async function measureHttpFloor(plan: HttpLoadPlan) {
  const { body, headers } = await gatewayAnswer(plan);
  const server = createServer((req, res) => {
    req.on('data', () => {}).on('end', () => res.writeHead(200, headers).end(body));
  });
  const url = await listen(server);
  try {
    const counters = startCounters();
    const r = await runLoad({ ...plan, url });
    return {
      reqPerSec: r.completed / r.seconds,
      /** CPU per request, µs, of this (server) process and of the load process. */
      serverCpuMicros: counters().cpuMicros / Math.max(1, r.total),
      loadCpuMicros: r.cpuMicrosPerRequest,
    };
  } finally {
    await shut(server);
  }
}

export type InferFloor = Awaited<ReturnType<typeof openInferFloor>>;

/**
 * The concurrency-1 floor for `plan` (binary bodies whose single FP32 input ends each body): each
 * `round(plan)` runs the plan against it and answers its p50.
 */
export async function openInferFloor(
  plan: HttpLoadPlan,
  modelPath: string,
  intraOpThreads: number,
  /** One sample's dims (the input's shape without the batch dim). */
  sampleDims: readonly number[],
) {
  const session = await ort.InferenceSession.create(modelPath, servingSessionOptions(intraOpThreads));
  const input = session.inputNames[0]!;
  const dims = [1, ...sampleDims];
  const bytes = dims.reduce((a, b) => a * b, 1) * 4;
  const { body, headers } = await gatewayAnswer(plan);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      const all = Buffer.concat(chunks);
      const pixels = new Float32Array(
        all.buffer.slice(all.byteOffset + all.length - bytes, all.byteOffset + all.length),
      );
      await session.run({ [input]: new ort.Tensor(pixels, dims) });
      res.writeHead(200, headers).end(body);
    });
  });
  const url = await listen(server);
  return {
    async round(load: HttpLoadPlan): Promise<number> {
      return (await runLoad({ ...load, url })).latency.p50Ms;
    },
    async close() {
      await shut(server);
      await session.release();
    },
  };
}
