/**
 * The floor under the gateway figures of `npm run bench -- cloud`: a bare `node:http` server (no
 * framework, no auth, no decoding, no inference) that reads each request body and answers with the
 * gateway's own response bytes for it, under the same load generator and concurrency. Its CPU per
 * request is what HTTP alone costs on this machine; with the load generator's and the model's own
 * (bench/cpu-budget.ts), it bounds the efficiency any Node HTTP server can reach here, and the rest
 * of the gateway's CPU is its own work. Helper of bench/cloud.ts.
 */
import { createServer } from 'node:http';
import { budgetTable, type CpuBudget, ceilingNote } from './cpu-budget.ts';

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

/** The report's "Where the CPU goes" paragraph and table (binary, concurrency 64). */
export function budgetSection(floor: HttpFloor, b: CpuBudget): string {
  return [
    `**Where the CPU goes** (binary, concurrency 64). The load generator shares the ${b.cores} cores with the gateway and raw inference keeps busy as many threads as it has, so every request's CPU counts wherever it is spent. ` +
      "CPU per request is each process's CPU time (all its threads) over a round ÷ its requests. The floor (bench/cloud-floor.ts): a bare `node:http` server that reads each body and answers the gateway's own response bytes, under the same load: " +
      `${floor.reqPerSec.toFixed(0)} req/s, ${floor.serverCpuMicros.toFixed(1)} µs CPU per request in the server, ${floor.loadCpuMicros.toFixed(1)} µs in the load process (at that rate).`,
    '',
    budgetTable(b, {
      model: 'digits-large',
      floor: 'a bare Node HTTP server',
      own: 'the gateway on top of bare HTTP (Hono, auth, token bucket, decode, validation, batching at its real batch sizes, worker hop, encode)',
    }),
    '',
    `A gateway with no work of its own (model at raw speed + bare HTTP + this load generator) would reach **${b.ceilingRatio.toFixed(2)} of raw** here${ceilingNote(b)}.`,
  ].join('\n');
}
