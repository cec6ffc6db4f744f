/**
 * The attacker of `npm run bench -- auth-flood`, a child process (off the cloud's event loop), kept
 * light so that what it costs the box is the flood, not its own start: node built-ins and raw MQTT
 * bytes only. From `startAt` (epoch ms) for `durationMs`: `httpConcurrency` loops of OIP infer
 * requests with a wrong edge token for a known edge id (a fresh random token each, so no cache can
 * answer), and raw MQTT CONNECTs with wrong tokens for that id at `mqttPerSec`, all from
 * `localAddress`. Prints what it got back.
 */
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { createConnection } from 'node:net';
import { childMain } from '../lib/child.ts';

export interface FloodPlan {
  httpUrl: string;
  mqttUrl: string;
  edgeId: string;
  localAddress: string;
  startAt: number;
  durationMs: number;
  httpConcurrency: number;
  mqttPerSec: number;
}

export interface FloodResult {
  /** HTTP status → count. */
  http: Record<string, number>;
  /** CONNACK return code (or 'closed') → count. */
  mqtt: Record<string, number>;
  /** This process's CPU time (user + system) over the flood, ms, and the flood's length, ms. */
  cpuMs: number;
  ms: number;
}

const MAX_OPEN_CONNECTS = 400;
const wrongToken = () => `fge_${randomBytes(32).toString('base64url')}`;

/** An MQTT 3.1.1 CONNECT: clean session, username = client id, password = `password`. */
function connectPacket(clientId: string, password: string): Buffer {
  const str = (s: string) => {
    const b = Buffer.from(s);
    return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
  };
  const body = Buffer.concat([
    str('MQTT'),
    Buffer.from([4, 0xc2, 0, 60]),
    str(clientId),
    str(clientId),
    str(password),
  ]);
  const length: number[] = [];
  let n = body.length;
  do {
    length.push((n % 128) | (n >= 128 ? 0x80 : 0));
    n = Math.floor(n / 128);
  } while (n > 0);
  return Buffer.concat([Buffer.from([0x10, ...length]), body]);
}

async function flood(plan: FloodPlan): Promise<FloodResult> {
  const result: FloodResult = { http: {}, mqtt: {}, cpuMs: 0, ms: 0 };
  const count = (into: Record<string, number>, key: string | number) => {
    into[key] = (into[key] ?? 0) + 1;
  };
  await new Promise((r) => setTimeout(r, Math.max(0, plan.startAt - Date.now())));
  const until = Date.now() + plan.durationMs;
  const cpu = process.cpuUsage();
  const start = performance.now();
  const url = new URL('/v2/models/digits-tiny/infer', plan.httpUrl);
  const agent = new Agent({
    keepAlive: true,
    maxSockets: plan.httpConcurrency,
    localAddress: plan.localAddress,
  });
  const body = Buffer.alloc(256);
  const oneRequest = () =>
    new Promise<void>((resolve) => {
      const headers = {
        authorization: `Bearer ${plan.edgeId}:${wrongToken()}`,
        'content-type': 'application/octet-stream',
      };
      let settled = false;
      const settle = (key: string | number) => {
        if (settled) return;
        settled = true;
        count(result.http, key);
        resolve();
      };
      const req = request(url, { method: 'POST', agent, headers }, (res) => {
        res.resume();
        res.on('end', () => settle(res.statusCode ?? 0));
        // A response cut short (the server reset the connection) is counted, not an uncaught error.
        res.on('error', () => settle('error'));
        res.on('close', () => settle(res.complete ? (res.statusCode ?? 0) : 'error'));
      });
      req.on('error', () => settle('error'));
      req.end(body);
    });
  const httpLoops = Array.from({ length: plan.httpConcurrency }, async () => {
    while (Date.now() < until) await oneRequest();
  });

  const { hostname, port } = new URL(plan.mqttUrl);
  let open = 0;
  const oneConnect = () => {
    open++;
    const socket = createConnection({ host: hostname, port: Number(port), localAddress: plan.localAddress });
    let done = false;
    const finish = (key: string | number) => {
      if (done) return;
      done = true;
      open--;
      count(result.mqtt, key);
      socket.destroy();
    };
    socket.once('connect', () => socket.write(connectPacket(plan.edgeId, wrongToken())));
    socket.on('data', (chunk: Buffer) =>
      finish(chunk[0] === 0x20 && chunk.length >= 4 ? chunk[3]! : 'other'),
    );
    socket.on('error', () => finish('error'));
    socket.once('close', () => finish('closed'));
  };
  const mqttLoop = (async () => {
    const periodMs = 1000 / plan.mqttPerSec;
    let next = performance.now();
    while (Date.now() < until) {
      if (open < MAX_OPEN_CONNECTS) oneConnect();
      next += periodMs;
      await new Promise((r) => setTimeout(r, Math.max(0, next - performance.now())));
    }
  })();
  await Promise.all([...httpLoops, mqttLoop]);
  const spent = process.cpuUsage(cpu);
  result.cpuMs = (spent.user + spent.system) / 1000;
  result.ms = performance.now() - start;
  agent.destroy();
  return result;
}

await childMain(flood);
