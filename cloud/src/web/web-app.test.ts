/**
 * The browser side of a real CloudServer over HTTP: signing in (cookie flags, bad token, logout,
 * CSRF), the pages and their assets beside an API whose JSON 404 stays, the live stream, and the
 * playground's demo identity with its rate limit, driven by the Node device SDK over MQTT/WebSocket.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { connectDevice } from '@fogline/device-sdk';
import { DIGIT_PIXELS, loadDigits } from '@fogline/shared/digits';
import { WEB_DIST_DIR } from '@fogline/web/dist-dir';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectMqtt, type FabricCloud, startFabricCloud } from '../testing/index.ts';
import { DEMO_TOKEN } from './demo-playground.ts';

let cloud: FabricCloud;

beforeAll(async () => {
  cloud = await startFabricCloud({ models: ['digits-tiny', 'digits-large'], demo: true });
}, 60_000);
afterAll(() => cloud?.stop());

const login = (token: string, origin: string | null = cloud.url) =>
  fetch(`${cloud.url}/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(origin && { origin }) },
    body: JSON.stringify({ token }),
  });

/** The first event of the live stream, read as a signed-in browser would. */
async function firstSnapshot() {
  const abort = new AbortController();
  const res = await fetch(`${cloud.url}/api/live`, {
    headers: { cookie: await session() },
    signal: abort.signal,
  });
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const reader = res.body!.getReader();
  let text = '';
  while (!text.includes('\n\n')) text += new TextDecoder().decode((await reader.read()).value);
  abort.abort();
  expect(text).toMatch(/^event: snapshot\ndata: /);
  return JSON.parse(text.split('data: ')[1]!.split('\n')[0]!);
}

async function session(): Promise<string> {
  const res = await login(cloud.ready.adminToken.token);
  expect(res.status).toBe(204);
  return res.headers.get('set-cookie')!.split(';')[0]!;
}

describe('dashboard sign-in', () => {
  it('sets an HttpOnly, SameSite=Strict, expiring cookie that the admin API accepts', async () => {
    const res = await login(cloud.ready.adminToken.token);
    expect(res.status).toBe(204);
    const cookie = res.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^fogline_session=[\w-]{43};/);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).toMatch(/Max-Age=28800/);
    expect(cookie).not.toMatch(/Secure/); // plain HTTP here
    const edges = await fetch(`${cloud.url}/api/edges`, { headers: { cookie: cookie.split(';')[0]! } });
    expect(edges.status).toBe(200);
    expect(await edges.json()).toEqual({ edges: [] });
  });

  it('marks the cookie Secure when served over TLS', async () => {
    const res = await cloud.server.app.request('https://fogline.test/api/session', {
      method: 'POST',
      headers: { origin: 'https://fogline.test' },
      body: JSON.stringify({ token: cloud.ready.adminToken.token }),
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('set-cookie')).toMatch(/; Secure/);
  });

  it('refuses a bad token with a clear message and no cookie', async () => {
    const res = await login('not-the-token');
    expect(res.status).toBe(401);
    expect(res.headers.get('set-cookie')).toBeNull();
    expect(await res.json()).toEqual({ error: 'invalid admin token' });
    const empty = await login('');
    expect(empty.status).toBe(400);
  });

  it('refuses a sign-in or a state change from another origin', async () => {
    expect((await login(cloud.ready.adminToken.token, 'http://evil.example')).status).toBe(403);
    expect((await login(cloud.ready.adminToken.token, null)).status).toBe(403);
    const cookie = await session();
    const forged = await fetch(`${cloud.url}/api/edges`, {
      method: 'POST',
      headers: { cookie, origin: 'http://evil.example' },
      body: JSON.stringify({ id: 'edge-forged' }),
    });
    expect(forged.status).toBe(403);
    expect((await forged.json()).error).toMatch(/cross-origin request refused/);
    const own = await fetch(`${cloud.url}/api/edges`, {
      method: 'POST',
      headers: { cookie, origin: cloud.url },
      body: JSON.stringify({ id: 'edge-own' }),
    });
    expect(own.status).toBe(201);
  });

  it('logs out: the session is revoked and its cookie refused', async () => {
    const cookie = await session();
    const out = await fetch(`${cloud.url}/api/session`, {
      method: 'DELETE',
      headers: { cookie, origin: cloud.url },
    });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/fogline_session=;.*Max-Age=0/);
    const after = await fetch(`${cloud.url}/api/edges`, { headers: { cookie } });
    expect(after.status).toBe(401);
  });
});

describe('pages beside the API', () => {
  it('serves the dashboard, the playground and their assets with their types and caching', async () => {
    for (const path of ['/', '/playground']) {
      const res = await fetch(`${cloud.url}${path}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(res.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    }
    const js = readdirSync(join(WEB_DIST_DIR, 'assets')).find((f) => f.endsWith('.js'))!;
    const asset = await fetch(`${cloud.url}/ui/assets/${js}`);
    expect(asset.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(asset.headers.get('cache-control')).toMatch(/immutable/);
    const wasm = await fetch(`${cloud.url}/ort/ort-wasm-simd-threaded.wasm`);
    expect(wasm.status).toBe(200);
    expect(wasm.headers.get('content-type')).toBe('application/wasm');
    for (const path of [
      '/ort/package.json',
      '/ui/assets/..%2F..%2Fpackage.json',
      '/v2/nothing',
      '/nothing',
    ]) {
      const res = await fetch(`${cloud.url}${path}`);
      expect(res.status, path).toBe(404);
      expect(res.headers.get('content-type'), path).toBe('application/json');
    }
    expect((await fetch(`${cloud.url}/api/nothing`)).status).toBe(401);
    expect((await fetch(`${cloud.url}/metrics`)).headers.get('content-type')).toMatch(/text\/plain/);
  });

  it('streams live snapshots to a signed-in browser only', async () => {
    expect((await fetch(`${cloud.url}/api/live`)).status).toBe(401);
    const snapshot = await firstSnapshot();
    expect(snapshot.edges.map((e: { id: string }) => e.id)).toContain('edge-own');
    expect(snapshot.cloud).toMatchObject({ rateLimited: 0, breakerOpens: 0 });
  });

  it('carries field accuracy per tier and the recent policy changes in each snapshot', async () => {
    const policy = (threshold: number) => ({
      device: { score: 'margin' as const, threshold },
      edge: { score: 'margin' as const, threshold: 0.2 },
    });
    const created = await fetch(`${cloud.url}/api/edges`, {
      method: 'POST',
      headers: { cookie: await session(), origin: cloud.url },
      body: JSON.stringify({ id: 'edge-field' }),
    });
    expect(created.status).toBe(201);
    await cloud.server.controlStore.edgePolicies.change(
      'edge-field',
      { source: 'operator', action: 'pin', from: policy(0.3), to: policy(0.5), why: 'a test', figures: null },
      {},
    );
    const snapshot = await firstSnapshot();
    const own = snapshot.edges.find((e: { id: string }) => e.id === 'edge-field');
    // No audits yet: every tier is there with n = 0, no estimate, and the widest interval.
    expect(own.field).toEqual({
      records: 0,
      audit_rate: null,
      tiers: Object.fromEntries(
        ['device', 'edge', 'cloud'].map((t) => [t, { agreement: null, low: 0, high: 1, n: 0, share: null }]),
      ),
    });
    expect(snapshot.policyChanges).toEqual([
      expect.objectContaining({
        edge: 'edge-field',
        action: 'pin',
        from: policy(0.3),
        to: policy(0.5),
        why: 'a test',
      }),
    ]);
  });
});

describe('live stream at stop', () => {
  it('ends when the server stops, without holding the stop', { timeout: 60_000 }, async () => {
    const other = await startFabricCloud({ shutdownTimeoutMs: 30_000 });
    try {
      const signIn = await fetch(`${other.url}/api/session`, {
        method: 'POST',
        headers: { origin: other.url },
        body: JSON.stringify({ token: other.ready.adminToken.token }),
      });
      const cookie = signIn.headers.get('set-cookie')!.split(';')[0]!;
      const res = await fetch(`${other.url}/api/live`, { headers: { cookie } });
      const reader = res.body!.getReader();
      await reader.read(); // the first snapshot
      const stopped = other.stop();
      // The stream ends cleanly (done), long before the 30 s the stop would wait for it.
      let done = false;
      while (!done) done = (await reader.read()).done;
      await stopped;
    } finally {
      await other.stop();
    }
  });
});

describe('playground demo identity', () => {
  const digit = () => loadDigits('test').images.slice(0, DIGIT_PIXELS);

  it('tells the page how to connect, and serves only the device model', async () => {
    const config = await (await fetch(`${cloud.url}/playground/config.json`)).json();
    expect(config).toEqual({
      deviceIdPrefix: 'playground-',
      token: DEMO_TOKEN,
      edgeId: 'cloud',
      model: '/playground/models/digits-tiny/1/model.onnx',
      wsPath: '/mqtt',
    });
    expect((await fetch(`${cloud.url}${config.model}`)).status).toBe(200);
    expect((await fetch(`${cloud.url}/playground/models/digits-large/1/model.onnx`)).status).toBe(404);
  });

  it('escalates to the cloud model, within a per-visitor rate limit', { timeout: 60_000 }, async () => {
    const device = await connectDevice({
      broker: cloud.wsUrl,
      deviceId: 'playground-abcdef0123',
      token: DEMO_TOKEN,
      edgeId: 'cloud',
      model: join(cloud.server.options.modelsDir, 'digits-tiny', '1', 'model.onnx'),
      policy: { score: 'maxprob', threshold: 1 },
    });
    try {
      // Short deadlines: past the visitor's burst, the wait the limit asks for does not fit, so the
      // page gets the device's answer, degraded, saying why.
      const answers = [];
      for (let i = 0; i < 10; i++) answers.push(await device.infer(digit(), { deadlineMs: 300 }));
      expect(answers[0]).toMatchObject({ tier: 'cloud', label: loadDigits('test').labels[0] });
      const limited = answers.filter((a) => a.fallback?.code === 'RATE_LIMITED');
      expect(limited.length).toBeGreaterThan(0);
      expect(limited[0]).toMatchObject({ tier: 'device', degraded: true });
      expect(limited[0]!.fallback!.message).toMatch(/this visitor is over its rate/);
      // Deadlines with room: the device waits as long as the limit says and the cloud answers.
      const started = Date.now();
      const patient = [];
      for (let i = 0; i < 4; i++) patient.push(await device.infer(digit(), { deadlineMs: 10_000 }));
      expect(patient.map((a) => a.tier)).toEqual(['cloud', 'cloud', 'cloud', 'cloud']);
      expect(Date.now() - started).toBeGreaterThan(1000); // 4 requests at 2/s after the burst went
    } finally {
      await device.close();
    }
  });

  it('refuses the public token under any other client id', async () => {
    for (const id of ['edge-own', 'playground-x', 'playground-../../x']) {
      const outcome = await connectMqtt(cloud.mqttUrl, id, DEMO_TOKEN);
      if (outcome.ok) outcome.client.end(true);
      expect(outcome, id).toMatchObject({ ok: false });
    }
    const ok = await connectMqtt(cloud.mqttUrl, 'playground-0123456789', DEMO_TOKEN);
    expect(ok.ok).toBe(true);
    if (ok.ok) ok.client.end(true);
  });
});

describe('a demo cloud without the digits device model', () => {
  it('has no playground, and does not tell visitors its paths', async () => {
    const other = await startFabricCloud({ models: ['digits-large'], demo: true });
    try {
      const res = await fetch(`${other.url}/playground/config.json`);
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({ error: "the playground's model is not served here" });
    } finally {
      await other.stop();
    }
  });
});

describe('a cloud without --demo', () => {
  it('has no playground identity', async () => {
    const plain = await startFabricCloud();
    try {
      const res = await fetch(`${plain.url}/playground/config.json`);
      expect(res.status).toBe(404);
      expect((await fetch(`${plain.url}/playground`)).status).toBe(200); // the page says it is off
    } finally {
      await plain.stop();
    }
  });
});
