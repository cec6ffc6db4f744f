/**
 * HTTP/1.1 adapter of the load generator: a keep-alive socket per client, pre-serialised requests,
 * responses framed by Content-Length only and taken in order: the cheapest client there is. Given
 * several servers (`spreadOver`), each client keeps one socket to each and sends its requests to them
 * in turn, as a round-robin HTTP load balancer with keep-alive to its backends does.
 */
import net from 'node:net';
import type { Done, LoadAdapter, LoadConnection } from './closed-loop.ts';

export interface HttpTarget {
  readonly url: string;
  /** Other servers (base URLs) to spread the requests over with `url`, round robin per request. */
  readonly spreadOver?: readonly string[];
  readonly path: string;
  readonly headers: Record<string, string>;
  /** POST bodies to cycle through, with their own headers. */
  readonly bodies: readonly { readonly base64: string; readonly headers: Record<string, string> }[];
}

export function httpAdapter(target: HttpTarget): LoadAdapter {
  const servers = [target.url, ...(target.spreadOver ?? [])].map((base) => {
    const url = new URL(target.path, base);
    const requests = target.bodies.map((b) => {
      const body = Buffer.from(b.base64, 'base64');
      const headers = { host: url.host, ...target.headers, ...b.headers, 'content-length': body.length };
      const head = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`);
      return Buffer.concat([Buffer.from(`POST ${url.pathname} HTTP/1.1\r\n${head.join('')}\r\n`), body]);
    });
    return { url, requests };
  });
  return {
    async connect(index) {
      const sockets = await Promise.all(servers.map((s) => connectSocket(s.url, s.requests, index)));
      let turn = index;
      return {
        get alive() {
          return sockets.every((s) => s.alive);
        },
        send: (done) => sockets[turn++ % sockets.length]!.send(done),
        close: async () => {
          await Promise.all(sockets.map((s) => s.close()));
        },
      };
    },
  };
}

/** One keep-alive socket to `url`, sending `requests` in turn from the `first`. */
function connectSocket(url: URL, requests: readonly Buffer[], first: number): Promise<LoadConnection> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: url.hostname, port: Number(url.port), noDelay: true });
    const waiting: Done[] = [];
    let next = first;
    let buffer = Buffer.alloc(0);
    let need = -1; // bytes of the current response, once its head is read
    let status = 0;
    let alive = true;
    const connection: LoadConnection = {
      get alive() {
        return alive;
      },
      send(done) {
        waiting.push(done);
        socket.write(requests[next++ % requests.length]!);
      },
      close: () => new Promise((closed) => (socket.destroyed ? closed() : socket.end(closed))),
    };
    socket.once('connect', () => resolve(connection));
    socket.on('data', (chunk) => {
      buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
      for (;;) {
        if (need < 0) {
          const end = buffer.indexOf('\r\n\r\n');
          if (end < 0) return;
          const head = buffer.toString('latin1', 0, end);
          status = Number(head.slice(9, 12));
          const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
          need = end + 4 + (length ? Number(length[1]) : 0);
        }
        if (buffer.length < need) return;
        buffer = buffer.subarray(need);
        need = -1;
        waiting.shift()?.(status === 200 ? null : `HTTP_${status}`);
      }
    });
    socket.on('error', (err) => {
      alive = false;
      for (const done of waiting.splice(0)) done('CONNECTION_LOST');
      reject(err);
    });
  });
}
