// Closed-loop HTTP/1.1 load generator for bench/cloud.ts, run as a child process so that it does not
// share the gateway's event loop. `concurrency` clients each own one keep-alive TCP connection and
// send one request, wait for the whole response, then send the next (no pipelining). Requests are
// pre-serialised bytes and responses are framed by Content-Length only, in the spirit of wrk: the
// generator should cost as little CPU as possible, because it shares the machine with the gateway.
//
// usage: node cloud-loadgen.mjs <plan.json>
//   plan: { url, path, headers, bodies: [{ base64, headers }], concurrency, warmupMs, durationMs }
// prints one JSON line: { completed, errors, statuses, seconds, latenciesMs: { p50, p90, p99, mean },
//   total, cpuMicros } — total = responses including warm-up, cpuMicros = this process's CPU time
import { readFileSync } from 'node:fs';
import net from 'node:net';

const plan = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const target = new URL(plan.path, plan.url);
const requests = plan.bodies.map((b) => {
  const body = Buffer.from(b.base64, 'base64');
  const headers = { host: target.host, ...plan.headers, ...b.headers, 'content-length': body.length };
  const head = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  return Buffer.concat([Buffer.from(`POST ${target.pathname} HTTP/1.1\r\n${head}\r\n`), body]);
});

const start = performance.now();
const measureFrom = start + plan.warmupMs;
const measureTo = measureFrom + plan.durationMs;
const latencies = [];
const statuses = {};
let errors = 0;
let total = 0;

/** One client: a connection, one request in flight at a time, until the window closes. */
function client(index) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: target.hostname, port: Number(target.port), noDelay: true });
    let next = index;
    let sentAt = 0;
    let buffer = Buffer.alloc(0);
    let need = -1; // total bytes of the current response once its head is parsed
    let status = 0;
    const send = () => {
      sentAt = performance.now();
      if (sentAt >= measureTo) {
        socket.end();
        return;
      }
      socket.write(requests[next++ % requests.length]);
    };
    socket.on('connect', send);
    socket.on('data', (chunk) => {
      buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
      for (;;) {
        if (need < 0) {
          const end = buffer.indexOf('\r\n\r\n');
          if (end < 0) return;
          const head = buffer.subarray(0, end).toString('latin1');
          status = Number(head.slice(9, 12));
          const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
          need = end + 4 + (length ? Number(length[1]) : 0);
        }
        if (buffer.length < need) return;
        buffer = buffer.subarray(need);
        need = -1;
        total++;
        const doneAt = performance.now();
        // Throughput counts completions inside the window, whenever the request started.
        if (doneAt >= measureFrom && doneAt <= measureTo) {
          latencies.push(doneAt - sentAt);
          statuses[status] = (statuses[status] ?? 0) + 1;
          if (status !== 200) errors++;
        }
        send();
      }
    });
    socket.on('error', () => {
      errors++;
      resolve();
    });
    socket.on('close', () => resolve());
  });
}

await Promise.all(Array.from({ length: plan.concurrency }, (_, i) => client(i)));
latencies.sort((a, b) => a - b);
const q = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? null;
const mean = latencies.reduce((a, b) => a + b, 0) / Math.max(1, latencies.length);
const cpu = process.cpuUsage();
process.stdout.write(
  `${JSON.stringify({
    completed: latencies.length - errors,
    errors,
    statuses,
    seconds: plan.durationMs / 1000,
    latenciesMs: { p50: q(0.5), p90: q(0.9), p99: q(0.99), mean },
    total,
    cpuMicros: cpu.user + cpu.system,
  })}\n`,
);
