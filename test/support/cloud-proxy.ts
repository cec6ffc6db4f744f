/**
 * Test support: a plain HTTP proxy between an edge and its cloud, on 127.0.0.1 port 0, that keeps what
 * a test needs to see of the traffic (the audit uploads' bodies, the model-file requests and their
 * Range) and can drop a model download's connection half-way, as a flaky network does, answer a
 * route 404 itself, as an older cloud without it does, or hold every request back, as a slow link.
 */
import { createServer, request, type Server } from 'node:http';

export interface FileRequest {
  readonly path: string;
  readonly range: string | undefined;
}

export interface CloudProxy {
  readonly url: string;
  /** Parsed bodies of `POST .../audits`, in order. */
  readonly audits: unknown[];
  /** Parsed bodies of `POST .../reported` (an edge with no cloud broker), in order. */
  readonly reported: unknown[];
  readonly fileRequests: FileRequest[];
  /** The next model-file response is cut (socket destroyed) after `bytes` bytes of its body. */
  cutNextFileAfter(bytes: number): void;
  /** The next model-file response stops sending (connection left open) after `bytes` bytes. */
  stallNextFileAfter(bytes: number): void;
  /** Requests whose path ends with `suffix` get a 404 from the proxy (they are still recorded). */
  refuse(suffix: string): void;
  /** Every request from now on waits `ms` before it goes on to the cloud, as over a slow link. */
  delay(ms: number): void;
  close(): Promise<void>;
}

export async function startCloudProxy(target: string): Promise<CloudProxy> {
  const to = new URL(target);
  const audits: unknown[] = [];
  const reported: unknown[] = [];
  const fileRequests: FileRequest[] = [];
  let cutAfter: number | undefined;
  let stallAfter: number | undefined;
  const refused: string[] = [];
  let delayMs = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => setTimeout(forward, delayMs));
    const forward = () => {
      const body = Buffer.concat(chunks);
      const path = req.url ?? '/';
      if (req.method === 'POST' && path.endsWith('/audits')) audits.push(JSON.parse(body.toString('utf8')));
      if (req.method === 'POST' && path.endsWith('/reported'))
        reported.push(JSON.parse(body.toString('utf8')));
      if (refused.some((suffix) => path.endsWith(suffix))) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'NOT_FOUND', message: `no route for ${path}` } }));
        return;
      }
      const isFile = req.method === 'GET' && path.endsWith('/file');
      if (isFile) fileRequests.push({ path, range: req.headers.range });
      const cut = isFile ? cutAfter : undefined;
      const stall = isFile ? stallAfter : undefined;
      if (isFile) {
        cutAfter = undefined;
        stallAfter = undefined;
      }
      const upstream = request(
        {
          host: to.hostname,
          port: to.port,
          path,
          method: req.method,
          headers: { ...req.headers, host: to.host },
        },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          let sent = 0;
          up.on('data', (c: Buffer) => {
            if (cut !== undefined && sent + c.length >= cut) {
              res.write(c.subarray(0, cut - sent));
              up.destroy();
              // Let the bytes go out, then drop the connection mid-body.
              setTimeout(() => res.socket?.destroy(), 20);
              sent = cut;
              return;
            }
            if (stall !== undefined && sent + c.length >= stall) {
              res.write(c.subarray(0, stall - sent));
              up.destroy();
              sent = stall;
              return;
            }
            sent += c.length;
            res.write(c);
          });
          up.on('end', () => res.end());
        },
      );
      upstream.on('error', () => res.destroy());
      upstream.end(body);
    };
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    audits,
    reported,
    fileRequests,
    cutNextFileAfter(bytes) {
      cutAfter = bytes;
    },
    stallNextFileAfter(bytes) {
      stallAfter = bytes;
    },
    refuse(suffix) {
      refused.push(suffix);
    },
    delay(ms) {
      delayMs = ms;
    },
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
