/**
 * The edge's HTTP client for the cloud tier: the cloud model's OIP metadata (what its tensors are),
 * and one OIP inference call per escalated request (`POST {cloud}/v2/models/{model}/infer`) with Triton's binary tensor extension in both directions,
 * `Authorization: Bearer <edgeId>:<edge token>` (the cloud needs the id to find the token's hash), over a keep-alive connection pool, and a timeout equal to the
 * request's remaining budget. No retries: a failed call is reported at once and the caller answers
 * locally (the breaker in cloud-breaker.ts decides when to stop calling).
 *
 * The same credential and connections fetch the edge's desired state when it has no cloud broker
 * (`GET {cloud}/v2/fogline/edges/{edgeId}/desired`, docs/cloud.md "Device-list sync over HTTP"),
 * post its reported state then, and download deployed model files (docs/edge-agent.md "Deployments").
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import {
  BINARY_CONTENT_TYPE,
  BINARY_DATA_OUTPUT,
  codeForHttpStatus,
  decodeInferBody,
  encodeInferBody,
  FoglineError,
  INFERENCE_HEADER_CONTENT_LENGTH,
  type Tensor,
} from '@fogline/shared';

export interface CloudClientOptions {
  /** Base URL of the cloud gateway, e.g. `http://cloud.example:8000`. */
  readonly baseUrl: string;
  /** The edge's token (Bearer credential for the cloud's HTTP API). */
  readonly token: string;
  /** The edge's id; when given the credential is sent as `Bearer <edgeId>:<token>` (docs/cloud.md). */
  readonly edgeId?: string;
  /** Cloud model to escalate to. Default `digits-large`. */
  readonly model?: string;
  /** Keep-alive connections to the cloud. Default 16. */
  readonly maxSockets?: number;
  /** Largest response body accepted. Default 16 MiB. */
  readonly maxResponseBytes?: number;
  /** CA certificate (PEM) trusted for an `https://` cloud besides the system CAs. */
  readonly ca?: string;
}

/** Largest desired state accepted over HTTP: MAX_DEVICES entries at their longest id and hash fit. */
export const MAX_DESIRED_STATE_BYTES = 64 * 1024 * 1024;

export interface CloudAnswer {
  readonly modelName: string;
  readonly modelVersion: string | undefined;
  readonly outputs: readonly Tensor[];
}

export class CloudClient {
  readonly model: string;
  /** The base URL this client calls (one replica of the cloud, cloud-replicas.ts). */
  readonly baseUrl: string;
  private readonly base: URL;
  private readonly url: URL;
  private readonly agent: HttpAgent;
  private readonly send: typeof httpRequest;
  private readonly maxResponseBytes: number;
  private readonly credential: string;
  private readonly edgeId: string | undefined;

  constructor(options: CloudClientOptions) {
    const base = new URL(options.baseUrl);
    if (base.protocol !== 'http:' && base.protocol !== 'https:') {
      throw new FoglineError('INVALID_ARG', `cloud URL must be http:// or https://, got ${options.baseUrl}`);
    }
    this.model = options.model ?? 'digits-large';
    this.base = base.href.endsWith('/') ? base : new URL(`${base.href}/`);
    this.baseUrl = options.baseUrl;
    this.url = new URL(`v2/models/${encodeURIComponent(this.model)}/infer`, this.base);
    this.edgeId = options.edgeId;
    const agentOptions = {
      keepAlive: true,
      maxSockets: options.maxSockets ?? 16,
      scheduling: 'lifo' as const,
    };
    this.agent =
      base.protocol === 'https:'
        ? new HttpsAgent({ ...agentOptions, ...(options.ca !== undefined && { ca: options.ca }) })
        : new HttpAgent(agentOptions);
    this.send = base.protocol === 'https:' ? httpsRequest : httpRequest;
    this.maxResponseBytes = options.maxResponseBytes ?? 16 * 1024 * 1024;
    this.credential = options.edgeId === undefined ? options.token : `${options.edgeId}:${options.token}`;
  }

  /** OIP: infer, of `outputs` (default all), sending `traceparent` when given. Rejects with a FoglineError (DEADLINE_EXCEEDED after `timeoutMs`, UNAVAILABLE on network errors). */
  async infer(
    id: string,
    inputs: readonly Tensor[],
    timeoutMs: number,
    outputs?: readonly string[],
    traceparent?: string,
  ): Promise<CloudAnswer> {
    if (!(timeoutMs >= 1)) throw new FoglineError('DEADLINE_EXCEEDED', 'no budget left for a cloud call');
    // Triton binary extension: binary inputs, and every output asked for (`outputs`, else all) in binary.
    const { body, headerLength } = encodeInferBody(
      {
        id,
        parameters: { [BINARY_DATA_OUTPUT]: true, deadline_ms: Math.floor(timeoutMs) },
        ...(outputs && { outputs: outputs.map((name) => ({ name })) }),
      },
      inputs,
    );
    const signal = AbortSignal.timeout(Math.floor(timeoutMs));
    const response = await this.request(
      this.url,
      {
        method: 'POST',
        signal,
        headers: {
          'content-type': BINARY_CONTENT_TYPE,
          'content-length': body.length,
          [INFERENCE_HEADER_CONTENT_LENGTH]: headerLength,
          ...(traceparent !== undefined && { traceparent }),
        },
      },
      body,
      this.maxResponseBytes,
      'cloud call timed out (request budget spent)',
    );
    const decoded = decodeResponse(response);
    if (decoded.kind !== 'response')
      throw new FoglineError('INTERNAL', 'cloud answered an inference without outputs');
    return {
      modelName: decoded.header.model_name,
      modelVersion: decoded.header.model_version,
      outputs: decoded.tensors,
    };
  }

  /**
   * OIP: model metadata (`GET {cloud}/v2/models/{model}`), the parsed JSON as it came (the caller
   * validates it). Rejects with a FoglineError like `infer`.
   */
  async metadata(timeoutMs: number): Promise<unknown> {
    if (!(timeoutMs >= 1)) throw new FoglineError('DEADLINE_EXCEEDED', 'no budget left for a cloud call');
    const url = new URL(`v2/models/${encodeURIComponent(this.model)}`, this.base);
    const response = await this.request(
      url,
      {
        method: 'GET',
        signal: AbortSignal.timeout(Math.floor(timeoutMs)),
        headers: { accept: 'application/json' },
      },
      undefined,
      this.maxResponseBytes,
      'cloud model metadata timed out (request budget spent)',
    );
    if (response.status !== 200) throw httpError(response);
    try {
      return JSON.parse(response.body.toString('utf8')) as unknown;
    } catch (cause) {
      throw new FoglineError('INTERNAL', 'cloud model metadata is not JSON', { cause });
    }
  }

  /**
   * The edge's own desired state: the JSON body, or undefined when the cloud answers 304 because
   * `knownVersion` is still current (sent as `If-None-Match: "<version>"`). Rejects with a
   * FoglineError like `infer` (DEADLINE_EXCEEDED when `signal` aborts: the caller's timeout or stop).
   */
  async fetchDesiredState(
    knownVersion: number | undefined,
    signal: AbortSignal,
  ): Promise<Uint8Array | undefined> {
    if (this.edgeId === undefined)
      throw new FoglineError('INVALID_ARG', 'fetching the desired state needs the edge id');
    const url = new URL(`v2/fogline/edges/${encodeURIComponent(this.edgeId)}/desired`, this.base);
    const headers: Record<string, string> = { accept: 'application/json' };
    // RFC 9110 §13.1.2: the version is the entity tag (docs/cloud.md).
    if (knownVersion !== undefined) headers['if-none-match'] = `"${knownVersion}"`;
    const response = await this.request(
      url,
      { method: 'GET', signal, headers },
      undefined,
      MAX_DESIRED_STATE_BYTES,
      'desired-state fetch timed out or was cancelled',
    );
    if (response.status === 304) return undefined;
    if (response.status !== 200) throw httpError(response);
    return new Uint8Array(response.body.buffer, response.body.byteOffset, response.body.length);
  }

  /**
   * Uploads a batch of audits (`POST {cloud}/v2/fogline/edges/{edgeId}/audits`, docs/cloud.md
   * "Audits"): `body` is the encoded upload. Resolves with what the cloud accepted and dropped;
   * rejects with a FoglineError like `infer`. Never retried.
   */
  async uploadAudits(body: string, timeoutMs: number): Promise<{ accepted: number; dropped: number }> {
    const response = await this.postEdgeJson('audits', body, timeoutMs, 'audit upload');
    if (response.status !== 202) throw httpError(response);
    const parsed = JSON.parse(response.body.toString('utf8')) as { accepted?: unknown; dropped?: unknown };
    return { accepted: Number(parsed.accepted) || 0, dropped: Number(parsed.dropped) || 0 };
  }

  /**
   * Opens a model file of the cloud's model store (`GET {cloud}/v2/fogline/models/{model}/versions/{v}/file`,
   * docs/cloud.md "Model store") from byte `from` (`Range: bytes=from-` when from > 0) and resolves
   * with the response as a stream, whatever its status: the caller reads the status, the body and
   * its end (deployment/model-download.ts). `signal` aborts it (a timeout or a stop).
   */
  openModelFile(model: string, version: number, from: number, signal: AbortSignal): Promise<IncomingMessage> {
    const url = new URL(`v2/fogline/models/${encodeURIComponent(model)}/versions/${version}/file`, this.base);
    const headers: Record<string, string> = { authorization: `Bearer ${this.credential}` };
    if (from > 0) headers.range = `bytes=${from}-`;
    return new Promise((resolve, reject) => {
      const req = this.send(url, { method: 'GET', agent: this.agent, signal, headers });
      req.on('error', (err) =>
        reject(toCloudError(err, signal, 'model download timed out or was cancelled')),
      );
      req.on('response', resolve);
      req.end();
    });
  }

  /** The config.json of a model version in the store (`.../versions/{v}/config`), parsed, unvalidated. */
  async modelConfig(model: string, version: number, timeoutMs: number): Promise<unknown> {
    const url = new URL(
      `v2/fogline/models/${encodeURIComponent(model)}/versions/${version}/config`,
      this.base,
    );
    const response = await this.request(
      url,
      { method: 'GET', signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } },
      undefined,
      1024 * 1024,
      'model config fetch timed out',
    );
    if (response.status !== 200) throw httpError(response);
    try {
      return JSON.parse(response.body.toString('utf8')) as unknown;
    } catch (cause) {
      throw new FoglineError('INTERNAL', 'the model config from the cloud is not JSON', { cause });
    }
  }

  /**
   * Sends the edge's reported state over HTTP (`POST {cloud}/v2/fogline/edges/{edgeId}/reported`), for
   * an edge with no cloud broker: `body` is the JSON it would publish on `edge/{id}/reported`.
   * Resolves false when the cloud does not know the route (404: an older cloud); rejects like `infer`.
   */
  async postReported(body: string, timeoutMs: number): Promise<boolean> {
    const response = await this.postEdgeJson('reported', body, timeoutMs, 'reported-state post');
    if (response.status === 404) return false;
    if (response.status < 200 || response.status >= 300) throw httpError(response);
    return true;
  }

  /**
   * OIP: server ready (`GET {cloud}/v2/health/ready`): whether this replica answers 200 within
   * `timeoutMs`. Never rejects: a network error or any other status is false.
   */
  async ready(timeoutMs: number): Promise<boolean> {
    const url = new URL('v2/health/ready', this.base);
    const signal = AbortSignal.timeout(Math.max(1, Math.floor(timeoutMs)));
    return this.request(
      url,
      { method: 'GET', signal, headers: {} },
      undefined,
      64 * 1024,
      'ready probe timed out',
    )
      .then((res) => res.status === 200)
      .catch(() => false);
  }

  close(): void {
    this.agent.destroy();
  }

  /** POSTs JSON to this edge's own route `v2/fogline/edges/{edgeId}/{leaf}`; the response (≤ 64 KiB). */
  private postEdgeJson(leaf: string, body: string, timeoutMs: number, what: string): Promise<RawResponse> {
    if (this.edgeId === undefined) throw new FoglineError('INVALID_ARG', `${what} needs the edge id`);
    const url = new URL(`v2/fogline/edges/${encodeURIComponent(this.edgeId)}/${leaf}`, this.base);
    const bytes = new TextEncoder().encode(body);
    const signal = AbortSignal.timeout(Math.max(1, Math.floor(timeoutMs)));
    const headers = { 'content-type': 'application/json', 'content-length': bytes.length };
    return this.request(url, { method: 'POST', signal, headers }, bytes, 64 * 1024, `${what} timed out`);
  }

  private request(
    url: URL,
    options: { method: string; signal: AbortSignal; headers: Record<string, string | number> },
    body: Uint8Array | undefined,
    maxResponseBytes: number,
    timeoutMessage: string,
  ): Promise<RawResponse> {
    const { signal } = options;
    return new Promise((resolve, reject) => {
      const fail = (err: unknown) => reject(toCloudError(err, signal, timeoutMessage));
      const req = this.send(url, {
        method: options.method,
        agent: this.agent,
        signal,
        headers: { ...options.headers, authorization: `Bearer ${this.credential}` },
      });
      req.on('error', fail);
      req.on('response', (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxResponseBytes) {
            res.destroy();
            reject(new FoglineError('INTERNAL', `cloud response exceeds ${maxResponseBytes} bytes`));
          } else chunks.push(chunk);
        });
        res.on('error', fail);
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
        });
      });
      req.end(body);
    });
  }
}

interface RawResponse {
  status: number;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

/** A non-2xx answer as a FoglineError of the matching catalogue code. */
function httpError(res: RawResponse): FoglineError {
  let message = `cloud answered HTTP ${res.status}`;
  try {
    const parsed = JSON.parse(res.body.toString('utf8')) as { error?: unknown };
    if (typeof parsed.error === 'string') message = `cloud: ${parsed.error}`;
  } catch {
    // OIP error bodies are `{"error": "..."}`; anything else keeps the status line.
  }
  // RFC 9110 §10.2.3: Retry-After in seconds (the cloud sends it with 429).
  const retryAfterSec = Number(res.headers['retry-after']);
  const details = {
    httpStatus: res.status,
    ...(Number.isFinite(retryAfterSec) && retryAfterSec >= 0 && { retryAfterMs: retryAfterSec * 1000 }),
  };
  return new FoglineError(codeForHttpStatus(res.status), message, { details });
}

function decodeResponse(res: RawResponse): ReturnType<typeof decodeInferBody> {
  if (res.status < 200 || res.status >= 300) throw httpError(res);
  const header = res.headers[INFERENCE_HEADER_CONTENT_LENGTH.toLowerCase()];
  const headerLength = header === undefined ? res.body.length : Number(header);
  try {
    return decodeInferBody(
      new Uint8Array(res.body.buffer, res.body.byteOffset, res.body.length),
      headerLength,
    );
  } catch (cause) {
    throw new FoglineError('INTERNAL', 'cloud response is not a valid OIP body', { cause });
  }
}

function toCloudError(err: unknown, signal: AbortSignal, timeoutMessage: string): FoglineError {
  if (err instanceof FoglineError) return err;
  if (signal.aborted) return new FoglineError('DEADLINE_EXCEEDED', timeoutMessage, { cause: err });
  const detail = err instanceof Error ? err.message : String(err);
  return new FoglineError('UNAVAILABLE', `cloud unreachable: ${detail}`, { cause: err });
}
