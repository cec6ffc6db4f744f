/**
 * The floor under the gateway figures of `npm run bench -- cloud`: a bare `node:http` server (no
 * framework, no auth, no decoding, no inference) that reads each request body and answers with the
 * gateway's own response bytes, under the same load. Its CPU per request is what HTTP alone costs
 * on this machine; the rest of the gateway's CPU is its own work (bench/lib/cpu-budget.ts).
 */
import { createServer } from 'node:http';
import { startCounters } from '../lib/process-counters.ts';
import type { LoadResult } from '../load/run-load.ts';

export interface HttpFloor {
  readonly reqPerSec: number;
  /** CPU of this (server) process per request. */
  readonly serverCpuMicros: number;
  /** CPU of the load process per request. */
  readonly loadCpuMicros: number;
}

/** Serves `response` (body and headers, as the gateway sent them) to every POST; runs `load(url)` against it. */
export async function measureHttpFloor(
  response: { body: Uint8Array; headers: Record<string, string> },
  load: (url: string) => Promise<LoadResult>,
): Promise<HttpFloor> {
  const headers = { ...response.headers, 'content-length': String(response.body.length) };
  const server = createServer((req, res) => {
    req.on('data', () => {});
    req.on('end', () => {
      res.writeHead(200, headers);
      res.end(response.body);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  try {
    const counters = startCounters();
    const r = await load(`http://127.0.0.1:${port}`);
    return {
      reqPerSec: r.completed / r.seconds,
      serverCpuMicros: counters().cpuMicros / Math.max(1, r.total),
      loadCpuMicros: r.cpuMicrosPerRequest,
    };
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
