/**
 * The model store over HTTP (docs/cloud.md "Model store"):
 *
 *   POST /api/store/models/{name}/versions[?version=V]                       (admin)
 *        body: the ONNX file (application/octet-stream), streamed to disk;
 *        header `Fogline-Model-Config: <base64url of config.json>`, optional after the first version
 *        → 201 { version } stored, 200 { version } the same bytes were already name@V (idempotent),
 *          400 the check failed (the reason), 409 name@V holds other bytes, 413 too large
 *   GET  /api/store/models/{name}/versions                                   (admin) → { versions }
 *   GET  /v2/fogline/models/{name}/versions/{v}/file     Bearer <admin token> or <edgeId>:<edge token>
 *        → 200 the bytes, `ETag: "<sha256>"`, `Accept-Ranges: bytes`, Content-Length; 206 for one
 *          `Range: bytes=a-b` (`a-`, `-n`) whose `If-Range`, if any, is that ETag; 416 for one past
 *          the end; 304 when If-None-Match names the sha256 (byte-range.ts of the core)
 *   GET  /v2/fogline/models/{name}/versions/{v}/config  (same credentials) → the config.json
 */
import { createReadStream } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { byteRangeOf, contentRangeOf, FoglineError } from '@fogline/shared';
import type { Context, Hono } from 'hono';
import { adminTokenMatches } from '../../auth/admin-token.ts';
import { bearerToken } from '../../auth/inference-guard.ts';
import { type ModelStore, modelTooLarge } from '../../model-store/model-store.ts';
import type { ModelVersionRecord } from '../../store/index.ts';
import type { CloudAppDeps } from '../app-deps.ts';
import { remoteAddress } from '../remote-address.ts';
import { nodeIncoming } from '../request-view.ts';
import { noneMatch } from './edge-desired.ts';
import { parseVersion } from './params.ts';

export const MODEL_CONFIG_HEADER = 'fogline-model-config';
export const MODEL_FILE_PATH = '/v2/fogline/models/:name/versions/:version/file';

export interface ModelStoreRouteDeps {
  readonly store: ModelStore;
  /** The authenticated edge's id (edge-inference-guard.ts `authenticateEdge`). */
  authenticateEdge(authorization: string | undefined, source?: string): string | Promise<string>;
}

/** A version as the admin API shows it. */
export interface ModelVersionView {
  model: string;
  version: number;
  tier: string;
  sha256: string;
  bytes: number;
  status: string;
  createdAt: string;
}

export function registerModelStoreRoutes(app: Hono, { modelStore, adminToken }: CloudAppDeps): void {
  app.post('/api/store/models/:name/versions', async (c) => {
    const asked = c.req.query('version');
    const version = asked === undefined ? undefined : versionParam(asked);
    const { record, created } = await modelStore.store.push({
      name: c.req.param('name'),
      ...(version !== undefined && { version }),
      ...configHeader(c.req.header(MODEL_CONFIG_HEADER)),
      body: requestStream(c, modelStore.store.maxModelBytes),
    });
    return c.json({ version: versionView(record) }, created ? 201 : 200);
  });

  app.get('/api/store/models/:name/versions', async (c) =>
    c.json({ versions: (await modelStore.store.list(c.req.param('name'))).map(versionView) }),
  );

  const readable = async (c: Context) => {
    const authorization = c.req.header('authorization');
    const presented = bearerToken(authorization);
    if (presented === undefined || !adminTokenMatches(presented, adminToken)) {
      await modelStore.authenticateEdge(authorization, remoteAddress(nodeIncoming(c)));
    }
    const version = parseVersion(c.req.param('version'));
    if (version === undefined) throw new FoglineError('NOT_FOUND', 'no model version');
    return { name: c.req.param('name') ?? '', version };
  };

  app.get(MODEL_FILE_PATH, async (c) => {
    const { name, version } = await readable(c);
    const file = await modelStore.store.file(name, version);
    const etag = `"${file.record.sha256}"`;
    const headers: Record<string, string> = {
      etag,
      'accept-ranges': 'bytes',
      'cache-control': 'private, max-age=31536000, immutable',
      'content-type': 'application/octet-stream',
    };
    if (noneMatch(c.req.header('if-none-match'), etag)) return c.body(null, 304, headers);
    const range = byteRangeOf(
      { range: c.req.header('range'), ifRange: c.req.header('if-range') },
      file.bytes,
      etag,
    );
    if (range.kind === 'unsatisfiable') {
      return c.body(null, 416, { ...headers, 'content-range': contentRangeOf(undefined, file.bytes) });
    }
    const [start, end] = range.kind === 'part' ? [range.start, range.end] : [0, file.bytes - 1];
    const body = Readable.toWeb(createReadStream(file.path, { start, end })) as ReadableStream;
    headers['content-length'] = String(end - start + 1);
    if (range.kind === 'whole') return c.body(body, 200, headers);
    return c.body(body, 206, { ...headers, 'content-range': contentRangeOf(range, file.bytes) });
  });

  app.get('/v2/fogline/models/:name/versions/:version/config', async (c) => {
    const { name, version } = await readable(c);
    return c.json(await modelStore.store.config(name, version));
  });
}

export function versionView(r: ModelVersionRecord): ModelVersionView {
  return {
    model: r.model,
    version: r.version,
    tier: r.tier,
    sha256: r.sha256,
    bytes: r.bytes,
    status: r.status,
    createdAt: r.createdAt.toISOString(),
  };
}

function versionParam(value: string): number {
  if (!/^[1-9]\d{0,8}$/.test(value)) {
    throw new FoglineError('INVALID_ARG', `version must be an integer >= 1, got '${value.slice(0, 20)}'`);
  }
  return Number(value);
}

function configHeader(header: string | undefined): { config?: unknown } {
  if (header === undefined) return {};
  try {
    return { config: JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) };
  } catch (cause) {
    throw new FoglineError(
      'INVALID_ARG',
      `header ${MODEL_CONFIG_HEADER} must be the base64url of config.json (JSON), it is not`,
      { cause },
    );
  }
}

/** The request body as a node stream: refused up front when Content-Length is past the limit. */
function requestStream(c: Context, maxBytes: number): Readable {
  const coding = c.req.header('content-encoding');
  if (coding !== undefined && coding.trim().toLowerCase() !== 'identity') {
    throw new FoglineError('UNSUPPORTED_MEDIA_TYPE', 'send the model file without a Content-Encoding');
  }
  const declared = c.req.header('content-length');
  if (declared !== undefined) {
    const n = Number(declared);
    if (!Number.isSafeInteger(n) || n < 0) throw new FoglineError('INVALID_ARG', 'invalid Content-Length');
    if (n > maxBytes) throw modelTooLarge(n, maxBytes);
  }
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (incoming && !incoming.readableDidRead) return incoming;
  const body = c.req.raw.body;
  if (!body) return Readable.from([]);
  return Readable.fromWeb(body as import('node:stream/web').ReadableStream);
}
