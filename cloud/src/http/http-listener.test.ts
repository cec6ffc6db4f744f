/**
 * The HTTP listener's boundary with the fetch adapter: whatever a request's handling throws, the
 * process keeps running and serving (an unhandled rejection would end it).
 */
import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { type HttpListener, listenHttp } from './http-listener.ts';

let listener: HttpListener | undefined;
afterEach(async () => {
  await listener?.close(100);
  listener = undefined;
});

describe('HTTP listener', () => {
  it('cuts a request whose response cannot be written, with no unhandled rejection, and serves the next', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      // The adapter fails after the handler: its response is written to a response already sent.
      const app = {
        fetch: (req: Request, env: unknown) => {
          if (new URL(req.url).pathname === '/broken') {
            const { outgoing } = env as { outgoing: ServerResponse };
            outgoing.writeHead(200);
            outgoing.end('sent');
          }
          return new Response('fine');
        },
      };
      listener = await listenHttp(app, { port: 0, host: '127.0.0.1' });
      const url = `http://127.0.0.1:${listener.port}`;
      await fetch(`${url}/broken`).then((r) => r.text());
      await new Promise((resolve) => setTimeout(resolve, 50)); // unhandled rejections are reported by now
      expect(unhandled).toEqual([]);
      expect(await fetch(`${url}/next`).then((r) => r.text())).toBe('fine');
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
