/**
 * The floor under the gateway figures of `npm run bench -- cloud`: a bare `node:http` server (no
 * framework, no auth, no decoding, no inference) that reads each request body and answers with the
 * gateway's own response bytes for it, under the same load generator and concurrency. Its CPU per
 * request is what HTTP alone costs on this machine; with the load generator's and the model's own
 * (cores / raw samples/s: raw uses every core), it bounds the efficiency any Node HTTP server can
 * reach here, and the rest of the gateway's CPU is its own work. Helper of bench/cloud.ts.
 */
import { createServer } from 'node:http';

export interface HttpFloor {
  readonly reqPerSec: number;
  /** CPU of this (server) process per request. */
  readonly serverCpuMicros: number;
  /** CPU of the load process per request. */
  readonly loadCpuMicros: number;
}

export interface FloorLoad {
  readonly completed: number;
  readonly seconds: number;
  /** Responses including warm-up. */
  readonly total: number;
  /** The load process's CPU time, µs. */
  readonly cpuMicros: number;
}

/** Serves `response` (body and headers, as the gateway sent them) to every POST; runs `load(url)` against it. */
export async function measureHttpFloor(
  response: { body: Uint8Array; headers: Record<string, string> },
  load: (url: string) => Promise<FloorLoad>,
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
    const cpuStart = process.cpuUsage();
    const r = await load(`http://127.0.0.1:${port}`);
    const cpu = process.cpuUsage(cpuStart);
    return {
      reqPerSec: r.completed / r.seconds,
      serverCpuMicros: (cpu.user + cpu.system) / Math.max(1, r.total),
      loadCpuMicros: r.cpuMicros / Math.max(1, r.total),
    };
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
