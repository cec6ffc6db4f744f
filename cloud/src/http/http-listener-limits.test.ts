/**
 * Slow clients on the HTTP listener (docs/operations.md "Slow clients and caps"), on real sockets:
 * half-sent headers, a body that never ends (even trickled) and an idle connect are closed within
 * their limit while a normal client is served; past `maxConnections` a new socket is closed at once.
 */
import { Agent, request } from 'node:http';
import { openSlowSocket } from '@fogline/shared/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { rawRequest } from '../testing/raw-http.ts';
import { type HttpLimits, type HttpListener, listenHttp } from './http-listener.ts';

const echo = { fetch: async (req: Request) => new Response(`got ${(await req.text()).length}`) };
const limits: HttpLimits = { headersTimeoutMs: 500, requestTimeoutMs: 1500, maxConnections: 4 };
let listener: HttpListener | undefined;
const start = async (l: HttpLimits = limits) => {
  listener = await listenHttp(echo, { port: 0, host: '127.0.0.1', limits: l });
  return { port: listener.port, url: `http://127.0.0.1:${listener.port}` };
};
afterEach(async () => {
  await listener?.close(100);
  listener = undefined;
});

describe('HTTP slow clients and caps', { timeout: 20_000 }, () => {
  it('closes half-sent headers within the header timeout while a normal client is served', async () => {
    const { port, url } = await start();
    const slow = await openSlowSocket(port);
    slow.socket.write('POST /v2/models/m/infer HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    const drip = setInterval(() => slow.socket.write('a'), 100); // a trickle does not reset it
    const normal = await rawRequest(url, 'GET', '/');
    expect(normal.status).toBe(200);
    const lived = await slow.closedAfter(5_000).finally(() => clearInterval(drip));
    expect(lived).toBeGreaterThanOrEqual(400);
    expect(lived).toBeLessThan(500 + 1000 + 800); // limit + checking period + slack
  });

  it('closes a request whose body never ends at the request deadline, trickle or not', async () => {
    const { port, url } = await start();
    const slow = await openSlowSocket(port);
    slow.socket.write('POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n0123456789');
    const drip = setInterval(() => slow.socket.write('b'), 100);
    expect((await rawRequest(url, 'POST', '/', 'hello')).body.toString()).toBe('got 5');
    const lived = await slow.closedAfter(6_000).finally(() => clearInterval(drip));
    expect(lived).toBeGreaterThanOrEqual(1400); // the headers were in time: the request deadline did it
    expect(lived).toBeLessThan(1500 + 1000 + 800);
  });

  it('a connect that never sends a byte is closed too; a kept-alive client idle past the header timeout is not', async () => {
    const { port } = await start();
    const silent = await openSlowSocket(port);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const get = () =>
      new Promise<{ status: number; reused: boolean }>((resolve, reject) => {
        const req = request({ port, host: '127.0.0.1', path: '/', agent }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, reused: req.reusedSocket }));
        });
        req.on('error', reject);
        req.end();
      });
    expect(await get()).toEqual({ status: 200, reused: false });
    expect(await silent.closedAfter(5_000)).toBeLessThan(500 + 1000 + 800);
    await new Promise((r) => setTimeout(r, 1200)); // idle between requests: not a slow request
    expect(await get()).toEqual({ status: 200, reused: true });
    agent.destroy();
  });

  it('past maxConnections a new socket is closed at once; room again once one goes', async () => {
    const { port, url } = await start({
      headersTimeoutMs: 5_000,
      requestTimeoutMs: 5_000,
      maxConnections: 3,
    });
    const held = await Promise.all([1, 2, 3].map(() => openSlowSocket(port)));
    const extra = await openSlowSocket(port);
    expect(await extra.closedAfter(1_000)).toBeLessThan(1_000);
    for (const h of held) expect(h.socket.destroyed).toBe(false);
    held[0]!.socket.destroy();
    await new Promise((r) => setTimeout(r, 100));
    expect((await rawRequest(url, 'GET', '/')).status).toBe(200);
    for (const h of held) h.socket.destroy();
  });
});
