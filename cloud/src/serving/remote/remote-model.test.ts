/**
 * A model served elsewhere, end to end on real sockets: a second fogline cloud (auth on, an API key)
 * serves digits-large as the remote; the cloud under test serves a repository whose configs point
 * at it with `backend` (the key as a `${ENV}` reference). Same metadata, same answers (JSON and binary,
 * batches) as the remote asked directly, the remote's batching delay cut by the request's deadline,
 * a dead remote refused fast by the breaker and served again once it is back, bad backends refused
 * at load with the reason, and the key never in a response or a log line.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FoglineError } from '@fogline/shared';
import { freePort } from '@fogline/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CloudProxy, startCloudProxy } from '../../../../test/support/cloud-proxy.ts';
import { CloudServer } from '../../cloud-server.ts';
import { createScratchDatabase, type ScratchDatabase } from '../../store/scratch-database.ts';
import {
  addModel,
  binaryInferRequest,
  digits,
  jsonInferBody,
  logitsOf,
  tempDir,
} from '../../testing/index.ts';

const KEY_VAR = `FOGLINE_TEST_OIP_KEY_${process.pid}`;
const lines: string[] = [];
const bodies: string[] = [];
let remote: CloudServer;
let remoteUrl: string;
let remotePort: number;
let remoteData: string;
let proxyData: string;
let key: string;
let proxy: { server: CloudServer; url: string };
let proxyRepo: string;
let slowLink: CloudProxy;
// PostgreSQL rather than PGlite: a PGlite start takes over 30 s on a loaded 2-core box.
let remoteDb: ScratchDatabase;
let proxyDb: ScratchDatabase;

function remoteCloud(): CloudServer {
  const repo = join(remoteData, 'models');
  return new CloudServer({
    httpPort: remotePort,
    host: '127.0.0.1',
    mqttPort: null,
    shutdownTimeoutMs: 3000,
    dataDir: remoteData,
    databaseUrl: remoteDb.url,
    modelsDir: repo,
    serving: { workers: 1, intraOpThreads: 1 },
  });
}

function writeModel(name: string, config: Record<string, unknown>): void {
  mkdirSync(join(proxyRepo, name), { recursive: true });
  writeFileSync(join(proxyRepo, name, 'config.json'), JSON.stringify({ name, tier: 'cloud', ...config }));
}

const backend = (model: string, extra: Record<string, unknown> = {}) => ({
  kind: 'oip',
  url: remoteUrl,
  model,
  headers: { Authorization: `Bearer \${${KEY_VAR}}` },
  timeout_ms: 5000,
  ...extra,
});

async function call(url: string, path: string, init: RequestInit = {}): Promise<Response> {
  const res = await fetch(`${url}${path}`, init);
  bodies.push(await res.clone().text());
  return res;
}

const direct = (path: string, init: RequestInit = {}) =>
  call(remoteUrl, path, { ...init, headers: { ...init.headers, authorization: `Bearer ${key}` } });

beforeAll(async () => {
  [remoteDb, proxyDb] = await Promise.all([createScratchDatabase(), createScratchDatabase()]);
  remoteData = tempDir('oip-remote');
  mkdirSync(join(remoteData, 'models'));
  addModel(join(remoteData, 'models'), 'digits-large');
  remotePort = await freePort();
  remote = remoteCloud();
  const ready = await remote.start();
  remoteUrl = ready.http.url;
  const res = await fetch(`${remoteUrl}/api/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ready.adminToken.token}` },
    body: JSON.stringify({ name: 'the-other-cloud', ratePerSec: 10_000, burst: 10_000 }),
  });
  key = ((await res.json()) as { key: string }).key;
  process.env[KEY_VAR] = key;

  proxyRepo = tempDir('oip-models');
  proxyData = tempDir('oip-data');
  writeModel('digits-large', { backend: backend('digits-large'), response_cache: { enable: true } });
  // The same remote over a link that holds each call back 1.5 s: slower than a short deadline.
  slowLink = await startCloudProxy(remoteUrl);
  slowLink.delay(1500);
  writeModel('digits-slow', { backend: { ...backend('digits-large'), url: slowLink.url } });
  writeModel('no-key', {
    backend: { ...backend('digits-large'), headers: { authorization: 'Bearer wrong' } },
  });
  const server = new CloudServer(
    {
      httpPort: 0,
      host: '127.0.0.1',
      mqttPort: null,
      auth: false,
      logRequests: true,
      modelsDir: proxyRepo,
      dataDir: proxyData,
      databaseUrl: proxyDb.url,
      responseCacheMb: 8,
      serving: { remote: { breaker: { consecutiveFailures: 2, resetTimeoutMs: 500 } } },
    },
    (err: FoglineError) => lines.push(`${err.code} ${err.message}`),
    (line) => lines.push(line),
  );
  const started = await server.start();
  proxy = { server, url: started.http.url };
}, 120_000);

afterAll(async () => {
  await proxy?.server.stop();
  await remote?.stop();
  await slowLink?.close();
  delete process.env[KEY_VAR];
  await Promise.all([remoteDb?.drop(), proxyDb?.drop()]);
  rmSync(remoteData, { recursive: true, force: true });
  for (const dir of [proxyRepo, proxyData]) rmSync(dir, { recursive: true, force: true });
});

describe('a model served by another OIP server', () => {
  it('has the remote model metadata, and is ready only where the remote lets it in', async () => {
    const mine = await (await call(proxy.url, '/v2/models/digits-large')).json();
    const theirs = await (await direct('/v2/models/digits-large')).json();
    expect(mine).toEqual(theirs);
    expect(mine).toMatchObject({ parameters: { tier: 'cloud', output_kind: 'logits' } });
    const config = (await (await call(proxy.url, '/v2/models/digits-large/config')).json()) as {
      backend: string;
      max_batch_size: number;
      parameters: { backend: { string_value: string } };
    };
    expect(config.backend).toBe('oip');
    expect(config.max_batch_size).toBe(64);
    expect(JSON.parse(config.parameters.backend.string_value)).toMatchObject({ url: remoteUrl });
    // A wrong key: fogline's metadata is public, so the model loads, but the remote refuses its
    // calls: UNAVAILABLE (our caller is not at fault), the remote named. The right key is served.
    const refused = await call(proxy.url, '/v2/models/no-key/infer', {
      method: 'POST',
      body: jsonInferBody(digits(1).images),
    });
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { error: string }).error).toContain(
      `remote model "digits-large" at ${remoteUrl}: `,
    );
  });

  it('answers JSON and binary batches as the remote does, counted in its statistics', async () => {
    const { images } = digits(5, 20);
    const theirs = await logitsOf(
      await direct('/v2/models/digits-large/infer', { method: 'POST', body: jsonInferBody(images) }),
    );
    const json = await call(proxy.url, '/v2/models/digits-large/infer', {
      method: 'POST',
      body: jsonInferBody(images, { id: 'j1' }),
    });
    expect(json.status).toBe(200);
    const mine = await logitsOf(json);
    expect(mine.shape).toEqual([5, 10]);
    for (const [i, v] of theirs.logits.entries()) expect(mine.logits[i]).toBeCloseTo(v, 5);
    const binary = binaryInferRequest(digits(5, 30).images);
    const bin = await call(proxy.url, '/v2/models/digits-large/infer', { method: 'POST', ...binary });
    const theirsBin = await logitsOf(
      await direct('/v2/models/digits-large/infer', {
        method: 'POST',
        ...binaryInferRequest(digits(5, 30).images),
      }),
    );
    expect(bin.status).toBe(200);
    expect((await logitsOf(bin)).logits).toEqual(theirsBin.logits);
    // The same request again comes from the response cache (config.json enables it).
    await call(proxy.url, '/v2/models/digits-large/infer', { method: 'POST', body: jsonInferBody(images) });
    const stats = (await (await call(proxy.url, '/v2/models/digits-large/stats')).json()) as {
      model_stats: { inference_stats: { success: { count: number }; cache_hit: { count: number } } }[];
    };
    expect(stats.model_stats[0]!.inference_stats.success.count).toBe(3);
    expect(stats.model_stats[0]!.inference_stats.cache_hit.count).toBe(1);
  });

  it('answers DEADLINE_EXCEEDED when the remote is slower than the request deadline, in time', async () => {
    const started = performance.now();
    const res = await call(proxy.url, '/v2/models/digits-slow/infer', {
      method: 'POST',
      body: jsonInferBody(digits(1).images, { parameters: { deadline_ms: 300 } }),
    });
    const took = performance.now() - started;
    expect(res.status).toBe(504);
    expect(took).toBeLessThan(1400);
    // Without a deadline the remote's answer comes, late but whole.
    const slow = await call(proxy.url, '/v2/models/digits-slow/infer', {
      method: 'POST',
      body: jsonInferBody(digits(1).images),
    });
    expect(slow.status).toBe(200);
  });

  it('refuses fast with UNAVAILABLE while the remote is down, and serves again once it is back', async () => {
    const body = jsonInferBody(digits(1).images);
    const infer = () => call(proxy.url, '/v2/models/digits-large/infer', { method: 'POST', body });
    await remote.stop();
    const errors: string[] = [];
    for (let i = 0; i < 2; i++) {
      const res = await infer();
      expect(res.status).toBe(503);
      errors.push(((await res.json()) as { error: string }).error);
    }
    expect(errors[0]).toContain(`at ${remoteUrl} is unreachable`);
    // Open now: refused without a call.
    const started = performance.now();
    const refused = await infer();
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { error: string }).error).toContain('calls are refused');
    expect(performance.now() - started).toBeLessThan(500);

    remote = remoteCloud();
    await remote.start();
    // Half-open after 500 ms: the probe call gets through and closes the breaker.
    await expect.poll(async () => (await infer()).status, { timeout: 20_000, interval: 200 }).toBe(200);
    expect((await infer()).status).toBe(200);
  });

  it('refuses a bad backend at load with the field and the reason', async () => {
    const load = async (name: string) => {
      const res = await call(proxy.url, `/v2/repository/models/${name}/load`, { method: 'POST', body: '{}' });
      return { status: res.status, error: ((await res.json()) as { error: string }).error };
    };
    writeModel('bad-url', { backend: backend('digits-large', { url: 'ftp://example' }) });
    expect(await load('bad-url')).toEqual({
      status: 400,
      error: expect.stringContaining('field "backend.url" must be an http:// or https:// URL'),
    });
    writeModel('with-inputs', { backend: backend('digits-large'), inputs: [] });
    expect((await load('with-inputs')).error).toContain('field "inputs" comes from the remote server');
    writeModel('unset-var', {
      backend: backend('digits-large', { headers: { 'x-token': `\${FOGLINE_TEST_NOT_SET_ANYWHERE}` } }),
    });
    expect(await load('unset-var')).toEqual({
      status: 400,
      error: expect.stringContaining(`references \${FOGLINE_TEST_NOT_SET_ANYWHERE}, which is not set`),
    });
    writeModel('unknown-remote', { backend: backend('no-such-model') });
    const unknown = await load('unknown-remote');
    expect(unknown.status).toBe(503);
    expect(unknown.error).toContain(`remote model "no-such-model" at ${remoteUrl}`);
  });

  it('never shows the header value in a response or a log line', () => {
    expect(bodies.length).toBeGreaterThan(10);
    expect(lines.length).toBeGreaterThan(0);
    for (const text of [...bodies, ...lines]) {
      if (text.includes(key)) throw new Error(`key leaked: ${text.slice(0, 200)}`);
    }
  });
});
