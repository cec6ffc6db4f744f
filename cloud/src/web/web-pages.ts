/**
 * The dashboard and the playground, served by the gateway on its own port (docs/dashboard.md):
 *
 *   GET /            the dashboard (web/dist/index.html)
 *   GET /playground  the playground (web/dist/playground.html)
 *   GET /ui/assets/* the pages' scripts and styles (content-hashed names: cached for a year)
 *   GET /ort/*       onnxruntime-web's WASM and its loader, from node_modules/onnxruntime-web/dist
 *
 * Nothing here is under /v2, /api, /metrics or /mqtt, so the API's JSON 404 stays as it was. Files
 * are looked up by a single plain name, never by a path a request could climb out of. When the
 * pages were not built, `/` and `/playground` say what to run.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { FoglineError } from '@fogline/shared';
import { WEB_BUILD_COMMAND, WEB_DIST_DIR, webBuilt } from '@fogline/web/dist-dir';
import type { Context, Hono } from 'hono';

export { WEB_BUILD_COMMAND, webBuilt };

export interface WebPagesOptions {
  /** The built pages (default: web/dist of the @fogline/web workspace). */
  distDir?: string;
  /** onnxruntime-web's dist folder (default: resolved from node_modules). */
  ortDir?: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** Pages: scripts from this origin only; WASM compiled (onnxruntime-web); MQTT over this host's WebSocket. */
const PAGE_HEADERS = {
  'cache-control': 'no-cache',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'x-frame-options': 'DENY',
  'content-security-policy':
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; " +
    "img-src 'self' data:; connect-src 'self' ws: wss:; worker-src 'self' blob:; frame-ancestors 'none'",
};

const PLAIN_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export function defaultOrtDir(): string {
  // The package's Node entry sits in its dist folder, next to the WASM files.
  return dirname(createRequire(import.meta.url).resolve('onnxruntime-web'));
}

export function registerWebPages(app: Hono, options: WebPagesOptions = {}): void {
  const distDir = options.distDir ?? WEB_DIST_DIR;
  const ortDir = options.ortDir ?? defaultOrtDir();
  const page = (file: string) => async (c: Context) => {
    if (!webBuilt(distDir)) return notBuilt(c);
    return c.body(await readFile(join(distDir, file)), 200, {
      ...PAGE_HEADERS,
      'content-type': TYPES['.html']!,
    });
  };
  app.get('/', page('index.html'));
  app.get('/playground', page('playground.html'));
  app.get('/ui/assets/:name', (c) =>
    sendFile(c, join(distDir, 'assets'), c.req.param('name'), 'public, max-age=31536000, immutable'),
  );
  app.get('/ort/:name', (c) => {
    const name = c.req.param('name');
    // Only the runtime's own WASM builds and their loaders, not the rest of the package.
    if (!name.startsWith('ort-wasm') || !['.wasm', '.mjs'].includes(extname(name))) {
      throw new FoglineError('NOT_FOUND', `no onnxruntime-web file ${name}`);
    }
    return sendFile(c, ortDir, name, 'public, max-age=86400');
  });
}

async function sendFile(c: Context, dir: string, name: string, cacheControl: string): Promise<Response> {
  const type = TYPES[extname(name)];
  if (!PLAIN_NAME.test(name) || type === undefined) throw new FoglineError('NOT_FOUND', `no file ${name}`);
  let body: Uint8Array<ArrayBuffer>;
  try {
    body = await readFile(join(dir, name));
  } catch (cause) {
    throw new FoglineError('NOT_FOUND', `no file ${name}`, { cause });
  }
  return c.body(body, 200, {
    'content-type': type,
    'cache-control': cacheControl,
    'x-content-type-options': 'nosniff',
  });
}

function notBuilt(c: Context): Response {
  const html =
    '<!doctype html><meta charset="utf-8"><title>fogline</title><body style="font:15px system-ui;margin:40px">' +
    '<h1>The dashboard is not built</h1>' +
    `<p>Run <code>${WEB_BUILD_COMMAND}</code> in the fogline checkout (it runs on <code>npm install</code>), then reload.</p>`;
  return c.body(html, 503, { ...PAGE_HEADERS, 'content-type': TYPES['.html']! });
}
