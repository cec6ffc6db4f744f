/**
 * The floor under `npm run bench -- cloud`: a bare `node:http` server answering the gateway's own
 * response bytes under the same load. Its CPU per request is what HTTP alone costs here.
 */
import { createServer } from 'node:http';
import { startCounters } from '../lib/process-counters.ts';
import { type HttpLoadPlan, runLoad } from '../load/run-load.ts';

export type HttpFloor = Awaited<ReturnType<typeof measureHttpFloor>>;

/** Takes one response of the real server to `plan`'s first body, then runs `plan` against the bare server. */
export async function measureHttpFloor(plan: HttpLoadPlan) {
  const sample = plan.bodies[0]!;
  const res = await fetch(new URL(plan.path, plan.url), {
    method: 'POST',
    headers: { ...plan.headers, ...sample.headers },
    body: Buffer.from(sample.base64, 'base64'),
  });
  const body = Buffer.from(await res.arrayBuffer());
  const headers = ['content-type', 'inference-header-content-length'].map((h) => [
    h,
    res.headers.get(h) ?? '',
  ]);
  const server = createServer((req, res) => {
    req.on('data', () => {}).on('end', () => res.writeHead(200, Object.fromEntries(headers)).end(body));
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const counters = startCounters();
    const r = await runLoad({
      ...plan,
      url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    });
    return {
      reqPerSec: r.completed / r.seconds,
      /** CPU per request, µs, of this (server) process and of the load process. */
      serverCpuMicros: counters().cpuMicros / Math.max(1, r.total),
      loadCpuMicros: r.cpuMicrosPerRequest,
    };
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
