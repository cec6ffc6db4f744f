/**
 * The edge's HTTP listener for its devices (docs/edge-agent.md "Device models"): serves the device
 * model it announces, `GET /device-models/{name}/{version}/model.onnx` and `.../config.json`, to
 * devices of its registry only (`Authorization: Bearer <deviceId>:<token>`, checked like an MQTT
 * CONNECT, device-registry.ts). Its own port, apart from `/metrics` (which stays on loopback unless
 * given a token): devices reach it over the LAN. CORS-enabled for the browser SDK.
 *
 * Resumable (RFC 9110 §14, the core's byte-range.ts): `ETag` is the sha256 of the bytes on disk (the
 * model's sha256 while its file is intact), `Accept-Ranges: bytes`; one `Range` gets 206 with
 * `Content-Range` (416 past the end), unless its `If-Range` is another ETag: then the whole file.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { byteRangeOf, contentRangeOf, isValidId } from '@fogline/shared';
import { listenSide, type SideListener } from '../side-listener.ts';

export interface DeviceFilesOptions {
  /** 0 = a free port. */
  readonly port: number;
  /** Default 0.0.0.0: devices are on the LAN. */
  readonly host?: string;
  /**
   * Base URL devices use to reach this listener, put in the manifest. Default
   * `http://<host>:<port>`, with the machine's hostname for a wildcard host.
   */
  readonly publicUrl?: string;
}

/** What the listener serves: the current device model's file and config (paths in the data dir). */
export interface ServedDeviceModel {
  readonly model: string;
  readonly version: number;
  readonly path: string;
  readonly configPath?: string;
}

export type DeviceFileServer = SideListener;

const CORS = {
  'access-control-allow-origin': '*',
  'access-control-allow-headers': 'authorization, range, if-range',
  'access-control-allow-methods': 'GET',
  'access-control-expose-headers': 'etag, content-range, accept-ranges',
};
const PATH = /^\/device-models\/([^/]+)\/(\d+)\/(model\.onnx|config\.json)$/;

/** Device credentials of `Authorization: Bearer <deviceId>:<token>`, or undefined. */
export function deviceCredentialOf(header: string | undefined): { id: string; token: string } | undefined {
  const match = /^Bearer ([^:\s]+):(\S+)$/.exec(header ?? '');
  if (!match || !isValidId(match[1])) return undefined;
  return { id: match[1], token: match[2]! };
}

export async function startDeviceFileServer(
  options: DeviceFilesOptions,
  verify: (deviceId: string, token: string) => Promise<boolean>,
  current: () => ServedDeviceModel | undefined,
): Promise<DeviceFileServer> {
  const host = options.host ?? '0.0.0.0';
  const etags = new FileTags();
  const answer = async (req: IncomingMessage, res: ServerResponse) => {
    const text = (status: number, body: string, extra: Record<string, string> = {}) =>
      res.writeHead(status, { ...CORS, 'content-type': 'text/plain', ...extra }).end(`${body}\n`);
    if (req.method === 'OPTIONS')
      return res.writeHead(204, { ...CORS, 'access-control-max-age': '600' }).end();
    const match = PATH.exec(new URL(req.url ?? '/', 'http://edge').pathname);
    if (req.method !== 'GET' || !match)
      return text(404, 'not found: GET /device-models/{name}/{version}/model.onnx');
    const credential = deviceCredentialOf(req.headers.authorization);
    if (!credential || !(await verify(credential.id, credential.token))) {
      return text(401, 'unauthorized: Bearer <deviceId>:<token> of a device of this edge', {
        'www-authenticate': 'Bearer',
      });
    }
    const served = current();
    if (!served || served.model !== match[1] || String(served.version) !== match[2]) {
      return text(404, 'not the device model this edge serves');
    }
    const config = match[3] === 'config.json';
    if (config && served.configPath === undefined) return text(404, 'no config for this device model');
    // Read per request: device models are small, and what devices get is what is on disk (they check it).
    const path = config ? served.configPath! : served.path;
    const body = await readFile(path);
    const etag = await etags.of(path, body);
    const size = body.byteLength;
    const headers = {
      ...CORS,
      etag,
      'accept-ranges': 'bytes',
      'content-type': config ? 'application/json' : 'application/octet-stream',
      'cache-control': 'private, no-cache',
    };
    const range = byteRangeOf({ range: req.headers.range, ifRange: req.headers['if-range'] }, size, etag);
    if (range.kind === 'unsatisfiable') {
      return res.writeHead(416, { ...headers, 'content-range': contentRangeOf(undefined, size) }).end();
    }
    if (range.kind === 'whole') {
      return res.writeHead(200, { ...headers, 'content-length': String(size) }).end(body);
    }
    const part = body.subarray(range.start, range.end + 1);
    res
      .writeHead(206, {
        ...headers,
        'content-length': String(part.byteLength),
        'content-range': contentRangeOf(range, size),
      })
      .end(part);
  };
  const server: Server = createServer(
    { headersTimeout: 10_000, requestTimeout: 60_000, connectionsCheckingInterval: 1000 },
    (req, res) => {
      answer(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500).end();
        else res.destroy();
      });
    },
  );
  server.maxConnections = 256;
  return listenSide(server, host, options.port, 'device models');
}

/** Strong ETags of served files: the sha256 of their bytes, hashed again only when the file changed. */
class FileTags {
  readonly #known = new Map<string, { stamp: string; etag: string }>();

  async of(path: string, body: Uint8Array): Promise<string> {
    const { ino, size, mtimeMs, ctimeMs } = await stat(path);
    const stamp = `${ino}:${size}:${mtimeMs}:${ctimeMs}`;
    const known = this.#known.get(path);
    // The stamp must match the bytes read: a file replaced between the read and the stat is hashed.
    if (known?.stamp === stamp && size === body.byteLength) return known.etag;
    const etag = `"${createHash('sha256').update(body).digest('hex')}"`;
    if (this.#known.size > 16) this.#known.clear();
    this.#known.set(path, { stamp, etag });
    return etag;
  }
}
