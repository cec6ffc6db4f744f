/**
 * The cloud gateway over real sockets (127.0.0.1, port 0) with real onnxruntime workers: binary and
 * JSON agree, batches form under concurrent load, bounded queues answer 503, token buckets answer 429
 * with Retry-After, revocation is immediate, a new version loads under load with no failed request,
 * chunked bodies are bounded, a taken port is refused clearly, and a stop finishes in-flight requests.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { CloudServer } from '@fogline/cloud';
import {
  addModel,
  argmaxRows,
  binaryInferRequest,
  digits,
  jsonInferBody,
  logitsOf,
  makeModelRepo,
  type RunningCloud,
  startCloud,
} from '@fogline/cloud/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let cloud: RunningCloud;
let repo: string;
let key: string;

/** A copy of digits-large with a one-deep queue and no batching: the easiest way to fill a queue. */
function addTinyQueueModel(dir: string): void {
  addModel(dir, 'large-q', 1, 'digits-large');
  const file = join(dir, 'large-q', 'config.json');
  const config = JSON.parse(readFileSync(file, 'utf8'));
  config.name = 'large-q';
  config.max_batch_size = 1;
  config.dynamic_batching = { max_queue_delay_ms: 0, max_queue_size: 1, preferred_batch_size: [] };
  writeFileSync(file, JSON.stringify(config));
}

const post = (model: string, body: BodyInit, headers: Record<string, string> = {}, auth = key) =>
  fetch(`${cloud.url}/v2/models/${model}/infer`, {
    method: 'POST',
    body,
    headers: { authorization: `Bearer ${auth}`, ...headers },
  });

async function stats(
  model: string,
): Promise<{ batch_stats: { batch_size: number; compute_infer: { count: number } }[] }> {
  const res = await fetch(`${cloud.url}/v2/models/${model}/stats`);
  return ((await res.json()) as { model_stats: never[] }).model_stats[0]!;
}

beforeAll(async () => {
  repo = makeModelRepo(['digits-large', 'digits-tiny']);
  addTinyQueueModel(repo);
  cloud = await startCloud({ modelsDir: repo, maxBodyBytes: 1024 * 1024 });
  key = await cloud.createKey('gateway-test');
});
afterAll(() => cloud?.stop());

describe('cloud gateway over sockets', () => {
  it('gives the same answers in binary and in JSON, and gets the digits right', async () => {
    const { images, labels } = digits(8, 100);
    const json = await logitsOf(await post('digits-large', jsonInferBody(images)));
    const { body, headers } = binaryInferRequest(images);
    const bin = await logitsOf(await post('digits-large', body, headers));
    expect(bin.shape).toEqual([8, 10]);
    expect(bin.logits).toHaveLength(80);
    for (const [i, v] of bin.logits.entries()) expect(v).toBeCloseTo(json.logits[i]!, 4);
    expect(argmaxRows(bin.logits)).toEqual(argmaxRows(json.logits));
    expect(argmaxRows(bin.logits).filter((d, i) => d === labels[i]).length).toBeGreaterThanOrEqual(7);
  });

  it('forms real batches from concurrent single-sample requests', async () => {
    const { images } = digits(64);
    const requests = Array.from({ length: 64 }, (_, i) => {
      const { body, headers } = binaryInferRequest(images.slice(i * 784, (i + 1) * 784));
      return post('digits-large', body, headers);
    });
    const statuses = (await Promise.all(requests)).map((r) => r.status);
    expect(statuses.every((s) => s === 200)).toBe(true);
    const s = await stats('digits-large');
    const batched = s.batch_stats.filter((b) => b.batch_size > 1 && b.compute_infer.count > 0);
    expect(batched.length).toBeGreaterThan(0);
    const metrics = await (await fetch(`${cloud.url}/metrics`)).text();
    const over1 = /fogline_inference_batch_size_bucket\{le="1",model="digits-large"\} (\d+)/.exec(metrics)!;
    const total = /fogline_inference_batch_size_count\{model="digits-large"\} (\d+)/.exec(metrics)!;
    expect(Number(total[1])).toBeGreaterThan(Number(over1[1]));
  });

  it('answers 503 when a model queue is full, and keeps serving', async () => {
    const body = jsonInferBody(digits(1).images);
    const results = await Promise.all(Array.from({ length: 40 }, () => post('large-q', body)));
    const codes = results.map((r) => r.status);
    expect(codes).toContain(503);
    expect(codes).toContain(200);
    expect(codes.every((c) => c === 200 || c === 503)).toBe(true);
    const refused = results.find((r) => r.status === 503)!;
    expect(await refused.json()).toEqual({ error: expect.stringMatching(/queue is full/) });
    expect((await post('large-q', body)).status).toBe(200);
  });

  it('rate-limits per key with 429 and Retry-After in seconds', async () => {
    const limited = await cloud.createKey('slow', 0.5, 2);
    const body = jsonInferBody(digits(1).images);
    const codes: number[] = [];
    let refused: Response | undefined;
    for (let i = 0; i < 4; i++) {
      const res = await post('digits-tiny', body, {}, limited);
      codes.push(res.status);
      if (res.status === 429) refused = res;
      else await res.arrayBuffer();
    }
    expect(codes).toEqual([200, 200, 429, 429]);
    expect(Number(refused!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await refused!.json()).toEqual({ error: expect.stringMatching(/over its rate/) });
    // Other keys are not affected.
    expect((await post('digits-tiny', body)).status).toBe(200);
    const metrics = await (await fetch(`${cloud.url}/metrics`)).text();
    expect(metrics).toMatch(/fogline_rate_limited_total\{key="slow"\} 2/);
  });

  it('refuses a revoked key on its very next request', async () => {
    const doomed = await cloud.createKey('doomed');
    const body = jsonInferBody(digits(1).images);
    expect((await post('digits-tiny', body, {}, doomed)).status).toBe(200);
    const del = await fetch(`${cloud.url}/api/keys/doomed`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${cloud.adminToken}` },
    });
    expect(del.status).toBe(200);
    expect((await post('digits-tiny', body, {}, doomed)).status).toBe(401);
  });

  it('bounds chunked bodies too (413)', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        `${cloud.url}/v2/models/digits-tiny/infer`,
        { method: 'POST', headers: { authorization: `Bearer ${key}`, 'transfer-encoding': 'chunked' } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      let sent = 0;
      const write = () => {
        while (sent < 40) {
          sent++;
          if (!req.write(chunk)) return void req.once('drain', write);
        }
        req.end();
      };
      write();
    });
    expect(status).toBe(413);
  });

  it('loads a new version under load without failing a single request', async () => {
    const body = jsonInferBody(digits(1).images);
    const seen = new Set<string>();
    const failures: string[] = [];
    let running = true;
    const worker = async () => {
      while (running) {
        const res = await post('digits-tiny', body);
        if (res.status !== 200) failures.push(`${res.status} ${await res.text()}`);
        else seen.add(((await res.json()) as { model_version: string }).model_version);
      }
    };
    const load = Array.from({ length: 8 }, worker);
    await new Promise((r) => setTimeout(r, 200));
    addModel(repo, 'digits-tiny', 2);
    const admin = { authorization: `Bearer ${cloud.adminToken}` };
    const loaded = await fetch(`${cloud.url}/v2/repository/models/digits-tiny/load`, {
      method: 'POST',
      headers: admin,
    });
    expect(loaded.status).toBe(200);
    await new Promise((r) => setTimeout(r, 200));

    // A broken version 3 fails to load and version 2 keeps serving.
    mkdirSync(join(repo, 'digits-tiny', '3'));
    writeFileSync(join(repo, 'digits-tiny', '3', 'model.onnx'), 'not an onnx model');
    const broken = await fetch(`${cloud.url}/v2/repository/models/digits-tiny/load`, {
      method: 'POST',
      headers: admin,
    });
    expect(broken.status).toBe(400);
    await new Promise((r) => setTimeout(r, 100));
    running = false;
    await Promise.all(load);

    expect(failures).toEqual([]);
    expect([...seen].sort()).toEqual(['1', '2']);
    const meta = (await (await fetch(`${cloud.url}/v2/models/digits-tiny`)).json()) as { versions: string[] };
    expect(meta.versions).toEqual(['2']);
  });

  it('refuses a taken port with one line naming the port and the flag', async () => {
    const clash = new CloudServer({
      httpPort: cloud.server.httpPort,
      host: '127.0.0.1',
      dataDir: cloud.dataDir,
    });
    const err = await clash.start().catch((e: unknown) => e);
    expect((err as Error).message).toBe(
      `port ${cloud.server.httpPort} is already in use; choose another with --http-port`,
    );
  });

  it('stops gracefully: in-flight requests are answered, then the port is closed', async () => {
    const { images } = digits(32);
    let answered = 0;
    const requests = Array.from({ length: 32 }, (_, i) => {
      const { body, headers } = binaryInferRequest(images.slice(i * 784, (i + 1) * 784));
      return post('digits-large', body, headers).then((res) => {
        answered++;
        return res;
      });
    });
    // Stop once every request has reached the server (or already been answered).
    while (cloud.server.inFlightRequests + answered < 32) await new Promise((r) => setTimeout(r, 2));
    expect(cloud.server.inFlightRequests).toBeGreaterThan(0);
    const stopped = cloud.stop();
    const responses = await Promise.all(requests);
    expect(responses.map((r) => r.status)).toEqual(new Array(32).fill(200));
    await stopped;
    await expect(fetch(`${cloud.url}/v2/health/live`)).rejects.toThrow();
  });
});
