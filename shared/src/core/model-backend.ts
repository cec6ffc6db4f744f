/**
 * A model's `backend` (config.json, docs/model-repository.md "Models served elsewhere"): the model
 * has no model file of its own; the cloud forwards its inference to an Open Inference Protocol
 * server (Triton, KServe, another fogline) and takes its tensors from that server's metadata.
 *
 * Header values may hold `${ENV_VAR}` references so that tokens need not sit in the repository; they
 * are resolved when the model loads (`resolveBackendHeaders`). A header's value never appears in an
 * error message: errors name the header and the variable only.
 */
import { FoglineError } from './errors.ts';
import { isDotSegment } from './url-segment.ts';

export const BACKEND_KINDS = ['oip'] as const;
export type BackendKind = (typeof BACKEND_KINDS)[number];

/** `backend: {"kind": "oip", …}` as config.json says it (header values unresolved). */
export interface OipBackend {
  readonly kind: 'oip';
  /** Base URL of the remote server, `http(s)://host:port[/prefix]`, without credentials. */
  readonly url: string;
  /** The model's name on the remote. */
  readonly model: string;
  /** The remote version to call; absent: the remote's default (its latest). */
  readonly version?: string;
  /** Sent with every call to the remote; values may reference `${ENV_VAR}`s. */
  readonly headers: Readonly<Record<string, string>>;
  /** Longest a remote call may take (the request's own deadline may cut it shorter). */
  readonly timeout_ms: number;
  /** Keep-alive connections to the remote, also the batches in flight at once. */
  readonly max_connections: number;
}

export const OIP_BACKEND_DEFAULTS = Object.freeze({ timeout_ms: 10_000, max_connections: 16 });

const FIELDS = ['kind', 'url', 'model', 'version', 'headers', 'timeout_ms', 'max_connections'];
/** RFC 9110 §5.1: a header name is a token. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const ENV_REF = /\$\{([^}]*)\}/g;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Validates `backend` once, at load time; `fail` names the field (`backend.<field>`). */
export function parseModelBackend(raw: unknown, fail: (field: string, problem: string) => never): OipBackend {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('backend', 'must be an object');
  const b = raw as Record<string, unknown>;
  for (const key of Object.keys(b)) {
    if (!FIELDS.includes(key)) fail(`backend.${key}`, `is not a field (known: ${FIELDS.join(', ')})`);
  }
  if (b.kind !== 'oip')
    fail('backend.kind', `must be one of ${BACKEND_KINDS.map((k) => `"${k}"`).join(', ')}`);
  const url = parseUrl(b.url, fail);
  // A segment of the remote's URL paths: `.` and `..` would be resolved away (url-segment.ts).
  if (typeof b.model !== 'string' || !/^[^/?#\s]{1,128}$/.test(b.model) || isDotSegment(b.model)) {
    fail(
      'backend.model',
      'must be the remote model name (1-128 characters, no "/", "?", "#" or spaces, not "." or "..")',
    );
  }
  if (
    b.version !== undefined &&
    (typeof b.version !== 'string' || !/^[0-9A-Za-z_.-]{1,64}$/.test(b.version) || isDotSegment(b.version))
  ) {
    fail('backend.version', 'must be a version string such as "1"');
  }
  const int = (v: unknown, field: string, min: number, max: number, fallback: number): number => {
    if (v === undefined) return fallback;
    if (!Number.isInteger(v) || (v as number) < min || (v as number) > max) {
      fail(`backend.${field}`, `must be an integer in ${min}..${max}`);
    }
    return v as number;
  };
  return Object.freeze({
    kind: 'oip',
    url,
    model: b.model as string,
    ...(b.version !== undefined && { version: b.version as string }),
    headers: parseHeaders(b.headers, fail),
    timeout_ms: int(b.timeout_ms, 'timeout_ms', 1, 600_000, OIP_BACKEND_DEFAULTS.timeout_ms),
    max_connections: int(b.max_connections, 'max_connections', 1, 1024, OIP_BACKEND_DEFAULTS.max_connections),
  });
}

function parseUrl(v: unknown, fail: (field: string, problem: string) => never): string {
  if (typeof v !== 'string') return fail('backend.url', 'must be an http:// or https:// URL');
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    return fail('backend.url', 'must be an http:// or https:// URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    fail('backend.url', 'must be an http:// or https:// URL');
  }
  // Credentials in a URL end up in logs and errors; headers are the place for them.
  if (url.username !== '' || url.password !== '') {
    fail('backend.url', `must not hold credentials (send them in "headers", e.g. with a \${ENV_VAR})`);
  }
  if (url.search !== '' || url.hash !== '') fail('backend.url', 'must not have a query or fragment');
  return url.href.replace(/\/+$/, '');
}

function parseHeaders(v: unknown, fail: (field: string, problem: string) => never): Record<string, string> {
  if (v === undefined) return Object.freeze({});
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail('backend.headers', 'must be an object');
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(v as Record<string, unknown>)) {
    const field = `backend.headers.${name}`;
    if (!HEADER_NAME.test(name)) fail(field, 'is not a valid HTTP header name');
    if (/^(content-type|content-length|inference-header-content-length|host|connection)$/i.test(name)) {
      fail(field, 'is set by the cloud itself');
    }
    // The value is not echoed: it may be a secret.
    if (typeof value !== 'string' || /[\r\n\0]/.test(value)) {
      fail(field, 'must be a string without line breaks');
    }
    for (const ref of (value as string).matchAll(ENV_REF)) {
      if (!ENV_NAME.test(ref[1]!))
        fail(field, `has a \${...} reference that is not an environment variable name`);
    }
    out[name.toLowerCase()] = value as string;
  }
  return Object.freeze(out);
}

/**
 * The backend's headers with every `${ENV_VAR}` replaced from `env`; INVALID_ARG naming the model,
 * the header and the variable (never a value) when one is unset.
 */
export function resolveBackendHeaders(
  model: string,
  backend: OipBackend,
  env: Readonly<Record<string, string | undefined>>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(backend.headers)) {
    out[name] = value.replace(ENV_REF, (_ref, variable: string) => {
      const resolved = env[variable];
      if (resolved === undefined) {
        throw new FoglineError(
          'INVALID_ARG',
          `model "${model}": backend header "${name}" references \${${variable}}, which is not set in the environment`,
          { details: { field: `backend.headers.${name}` } },
        );
      }
      return resolved;
    });
    if (/[\r\n\0]/.test(out[name]!)) {
      throw new FoglineError(
        'INVALID_ARG',
        `model "${model}": backend header "${name}" has a line break after its \${...} references are resolved`,
      );
    }
  }
  return out;
}
