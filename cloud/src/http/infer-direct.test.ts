/**
 * The direct infer path (infer-direct.ts) answers as the Hono route does. Each request goes over a
 * real socket to the cloud, where the direct path takes it, and to a second listener serving the same
 * app through @hono/node-server only; both answers must agree byte for byte (status, every header but
 * Date, body), and `app.request()` must give the same status, body and content headers.
 */
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  binaryInferRequest,
  digits,
  jsonInferBody,
  makeModelRepo,
  type RunningCloud,
  startCloud,
} from '../testing/cloud-fixture.ts';
import { type RawResponse, rawRequest } from '../testing/raw-http.ts';
import { startingResponse } from './error-response.ts';
import { type FetchApp, type HttpListener, listenHttp } from './http-listener.ts';
import { inferDirect } from './infer-direct.ts';

const MAX_BODY = 64 * 1024;
/** Headers of the connection, not of the answer: `app.request()` has none of them. */
const TRANSPORT = ['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding'];

let cloud: RunningCloud;
let hono: HttpListener;
let key: string;
/** Requests that reached the Hono app from a socket (`app.request()` ones are not counted). */
let viaHono = 0;

beforeAll(async () => {
  cloud = await startCloud({ modelsDir: makeModelRepo(['digits-tiny']), maxBodyBytes: MAX_BODY });
  key = await cloud.createKey('infer-direct-test');
  const app = cloud.server.app;
  const fetch = app.fetch;
  app.fetch = (req, env, ctx) => {
    if ((env as { incoming?: unknown } | undefined)?.incoming) viaHono++;
    return fetch(req, env, ctx);
  };
  hono = await listenHttp(app, { port: 0, host: '127.0.0.1' });
});
afterAll(async () => {
  await hono?.close(1000);
  await cloud?.stop();
});

interface Sent {
  path: string;
  body?: Uint8Array | string;
  headers?: Record<string, string | string[]>;
}

function comparable(r: RawResponse) {
  const { date: _date, ...headers } = r.headers;
  return { status: r.status, headers, body: r.body.toString('base64') };
}

/** Sends `sent` all three ways, checks they agree, and returns the direct path's answer. */
async function parity(sent: Sent, taken = true): Promise<RawResponse> {
  const headers = { authorization: `Bearer ${key}`, ...sent.headers } as Record<string, string>;
  const before = viaHono;
  const direct = await rawRequest(cloud.url, 'POST', sent.path, sent.body, headers);
  expect(viaHono, 'served by the direct path').toBe(before + (taken ? 0 : 1));
  const routed = await rawRequest(`http://127.0.0.1:${hono.port}`, 'POST', sent.path, sent.body, headers);
  expect(comparable(direct)).toEqual(comparable(routed));

  const fetched = await cloud.server.app.request(sent.path, {
    method: 'POST',
    ...(sent.body !== undefined && { body: sent.body as Uint8Array<ArrayBuffer> | string }),
    headers: Object.entries(headers as Record<string, string | string[]>).flatMap(([k, v]) =>
      (Array.isArray(v) ? v : [v]).map((x): [string, string] => [k, x]),
    ),
  });
  expect(fetched.status).toBe(direct.status);
  expect(Buffer.from(await fetched.arrayBuffer()).toString('base64')).toBe(comparable(direct).body);
  const answered: Record<string, unknown> = {};
  fetched.headers.forEach((value, name) => {
    answered[name] = value;
  });
  const answer = (all: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(all).filter(([k]) => !TRANSPORT.includes(k)));
  expect(answer(answered)).toEqual(answer(direct.headers));
  return direct;
}

describe('direct infer path and the Hono route give the same answer', () => {
  const images = digits(2).images;

  it('a good binary request, on the versioned path with a query string', async () => {
    const { body, headers } = binaryInferRequest(images);
    const r = await parity({ path: '/v2/models/digits-tiny/versions/1/infer?x=1', body, headers });
    expect(r.status).toBe(200);
    expect(r.headers['inference-header-content-length']).toBeDefined();
  });

  it('a good JSON request with an id and a traceparent', async () => {
    const body = jsonInferBody(images, { id: 'parity-1' });
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const r = await parity({ path: '/v2/models/digits-tiny/infer', body, headers: { traceparent } });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body.toString()).id).toBe('parity-1');
  });

  it('a gzip body answered gzip, and a deflate answer', async () => {
    const body = gzipSync(jsonInferBody(images));
    const gz = { 'content-encoding': 'gzip', 'accept-encoding': 'gzip' };
    const r = await parity({ path: '/v2/models/digits-tiny/infer', body, headers: gz });
    expect([r.status, r.headers['content-encoding']]).toEqual([200, 'gzip']);
    const d = await parity({
      path: '/v2/models/digits-tiny/infer',
      body: jsonInferBody(images),
      headers: { 'accept-encoding': 'deflate' },
    });
    expect(d.headers['content-encoding']).toBe('deflate');
  });

  it('a bad body (400), an unknown model and version (404), a body over the limit (413)', async () => {
    const path = '/v2/models/digits-tiny/infer';
    expect((await parity({ path, body: '{"inputs": 5' })).status).toBe(400);
    expect((await parity({ path, body: '{"id": "x"}' })).status).toBe(400);
    const body = jsonInferBody(images);
    expect((await parity({ path: '/v2/models/nope/infer', body })).status).toBe(404);
    expect((await parity({ path: '/v2/models/digits-tiny/versions/0/infer', body })).status).toBe(404);
    const large = await parity({ path, body: new Uint8Array(MAX_BODY + 1) });
    expect([large.status, large.headers.connection]).toEqual([413, 'close']);
    const bomb = gzipSync(new Uint8Array(MAX_BODY * 4));
    const inflated = await parity({ path, body: bomb, headers: { 'content-encoding': 'gzip' } });
    expect(inflated.status).toBe(413);
    expect((await parity({ path, body, headers: { 'content-encoding': 'br' } })).status).toBe(415);
  });

  it('no key (401), and a repeated Authorization header read as fetch joins it', async () => {
    const body = jsonInferBody(images);
    const path = '/v2/models/digits-tiny/infer';
    const none = await parity({ path, body, headers: { authorization: '' } });
    expect([none.status, none.headers['www-authenticate']]).toEqual([401, 'Bearer']);
    const twice = { authorization: [`Bearer ${key}`, `Bearer ${key}`] };
    expect((await parity({ path, body, headers: twice })).status).toBe(401);
  });

  it('leaves percent-encoded and dot-segment paths to the app', async () => {
    const body = jsonInferBody(images);
    expect((await parity({ path: '/v2/models/digits%2Dtiny/infer', body }, false)).status).toBe(200);
    expect((await parity({ path: '/v2/models/../infer', body }, false)).status).toBe(404);
  });
});

describe('while the cloud starts', () => {
  it('the direct path answers 503 as the starting app does', async () => {
    let viaApp = 0;
    const starting: FetchApp = {
      fetch: () => {
        viaApp++;
        return startingResponse();
      },
    };
    const options = { port: 0, host: '127.0.0.1' };
    const direct = await listenHttp(starting, { ...options, direct: inferDirect(() => undefined) });
    const routed = await listenHttp(starting, options);
    try {
      const send = (l: HttpListener) =>
        rawRequest(`http://127.0.0.1:${l.port}`, 'POST', '/v2/models/m/infer', '{}');
      const a = await send(direct);
      expect(viaApp).toBe(0);
      const b = await send(routed);
      expect(viaApp).toBe(1);
      expect(a.status).toBe(503);
      expect(comparable(a)).toEqual(comparable(b));
    } finally {
      await Promise.all([direct.close(1000), routed.close(1000)]);
    }
  });
});
