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
 *
 * Thin over fogline's one HTTP client of another server (`@fogline/shared/http-client`: the pool, the
 * byte cap, the transport errors, the OIP calls), which the cloud's client of a model's remote OIP
 * server uses too; what is the edge's own is its credential, its CA, the words of its errors and
 * what the cloud's statuses mean (`httpError`, Retry-After kept).
 */
import type { IncomingMessage } from 'node:http';
import { BINARY_DATA_OUTPUT, codeForHttpStatus, FoglineError, type Tensor } from '@fogline/shared';
import {
  type CallWords,
  getJson,
  type HttpAnswer,
  HttpClient,
  type InferWords,
  inferBinary,
  oipErrorText,
  type ReadWords,
} from '@fogline/shared/http-client';

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
  private readonly http: HttpClient;
  private readonly inferUrl: URL;
  private readonly edgeId: string | undefined;

  constructor(options: CloudClientOptions) {
    const base = new URL(options.baseUrl);
    if (base.protocol !== 'http:' && base.protocol !== 'https:') {
      throw new FoglineError('INVALID_ARG', `cloud URL must be http:// or https://, got ${options.baseUrl}`);
    }
    this.model = options.model ?? 'digits-large';
    this.baseUrl = options.baseUrl;
    this.edgeId = options.edgeId;
    const credential = options.edgeId === undefined ? options.token : `${options.edgeId}:${options.token}`;
    this.http = new HttpClient({
      baseUrl: options.baseUrl,
      maxSockets: options.maxSockets ?? 16,
      maxResponseBytes: options.maxResponseBytes ?? 16 * 1024 * 1024,
      headers: { authorization: `Bearer ${credential}` },
      ca: options.ca,
    });
    this.inferUrl = this.http.url(`v2/models/${encodeURIComponent(this.model)}/infer`);
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
    const decoded = await inferBinary(this.http, {
      url: this.inferUrl,
      header: {
        id,
        parameters: { [BINARY_DATA_OUTPUT]: true, deadline_ms: Math.floor(timeoutMs) },
        ...(outputs && { outputs: outputs.map((name) => ({ name })) }),
      },
      tensors: inputs,
      signal: AbortSignal.timeout(Math.floor(timeoutMs)),
      ...(traceparent !== undefined && { headers: { traceparent } }),
      words: INFER_WORDS,
    });
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
    return getJson(this.http, {
      url: `v2/models/${encodeURIComponent(this.model)}`,
      signal: AbortSignal.timeout(Math.floor(timeoutMs)),
      words: METADATA_WORDS,
    });
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
    const headers: Record<string, string> = { accept: 'application/json' };
    // RFC 9110 §13.1.2: the version is the entity tag (docs/cloud.md).
    if (knownVersion !== undefined) headers['if-none-match'] = `"${knownVersion}"`;
    const response = await this.http.request({
      method: 'GET',
      url: `v2/fogline/edges/${encodeURIComponent(this.edgeId)}/desired`,
      signal,
      headers,
      maxResponseBytes: MAX_DESIRED_STATE_BYTES,
      words: cloudWords('desired-state fetch timed out or was cancelled'),
    });
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
   * docs/cloud.md "Model store") with these extra headers (`Range` + `If-Range` to resume) and
   * resolves with the response as a stream, whatever its status: the caller reads the status, the
   * body and its end (deployment/model-download.ts). `signal` aborts it (a timeout or a stop).
   */
  openModelFile(
    model: string,
    version: number,
    headers: Readonly<Record<string, string>>,
    signal: AbortSignal,
  ): Promise<IncomingMessage> {
    return this.http.open({
      method: 'GET',
      url: `v2/fogline/models/${encodeURIComponent(model)}/versions/${version}/file`,
      signal,
      headers,
      words: cloudWords('model download timed out or was cancelled'),
    });
  }

  /** The config.json of a model version in the store (`.../versions/{v}/config`), parsed, unvalidated. */
  async modelConfig(model: string, version: number, timeoutMs: number): Promise<unknown> {
    return getJson(this.http, {
      url: `v2/fogline/models/${encodeURIComponent(model)}/versions/${version}/config`,
      signal: AbortSignal.timeout(timeoutMs),
      maxResponseBytes: 1024 * 1024,
      words: MODEL_CONFIG_WORDS,
    });
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
    return this.http
      .request({
        method: 'GET',
        url: 'v2/health/ready',
        signal: AbortSignal.timeout(Math.max(1, Math.floor(timeoutMs))),
        maxResponseBytes: 64 * 1024,
        words: cloudWords('ready probe timed out'),
      })
      .then((res) => res.status === 200)
      .catch(() => false);
  }

  close(): void {
    this.http.close();
  }

  /** POSTs JSON to this edge's own route `v2/fogline/edges/{edgeId}/{leaf}`; the response (≤ 64 KiB). */
  private postEdgeJson(leaf: string, body: string, timeoutMs: number, what: string): Promise<HttpAnswer> {
    if (this.edgeId === undefined) throw new FoglineError('INVALID_ARG', `${what} needs the edge id`);
    const bytes = new TextEncoder().encode(body);
    return this.http.request({
      method: 'POST',
      url: `v2/fogline/edges/${encodeURIComponent(this.edgeId)}/${leaf}`,
      signal: AbortSignal.timeout(Math.max(1, Math.floor(timeoutMs))),
      headers: { 'content-type': 'application/json', 'content-length': bytes.length },
      body: bytes,
      maxResponseBytes: 64 * 1024,
      words: cloudWords(`${what} timed out`),
    });
  }
}

/** The edge's words for a call to the cloud whose deadline says `deadline`. */
function cloudWords(deadline: string): CallWords {
  return {
    deadline,
    unreachable: (err) => `cloud unreachable: ${err instanceof Error ? err.message : String(err)}`,
    tooLarge: (maxBytes) => `cloud response exceeds ${maxBytes} bytes`,
  };
}

const INFER_WORDS: InferWords = {
  ...cloudWords('cloud call timed out (request budget spent)'),
  status: httpError,
  unreadable: 'cloud response is not a valid OIP body',
  noOutputs: 'cloud answered an inference without outputs',
};
const METADATA_WORDS: ReadWords = {
  ...cloudWords('cloud model metadata timed out (request budget spent)'),
  status: httpError,
  unreadable: 'cloud model metadata is not JSON',
};
const MODEL_CONFIG_WORDS: ReadWords = {
  ...cloudWords('model config fetch timed out'),
  status: httpError,
  unreadable: 'the model config from the cloud is not JSON',
};

/** A non-2xx answer as a FoglineError of the matching catalogue code. */
function httpError(res: HttpAnswer): FoglineError {
  const text = oipErrorText(res);
  // OIP error bodies are `{"error": "..."}`; anything else keeps the status line.
  const message = text === undefined ? `cloud answered HTTP ${res.status}` : `cloud: ${text}`;
  // RFC 9110 §10.2.3: Retry-After in seconds (the cloud sends it with 429).
  const retryAfterSec = Number(res.headers['retry-after']);
  const details = {
    httpStatus: res.status,
    ...(Number.isFinite(retryAfterSec) && retryAfterSec >= 0 && { retryAfterMs: retryAfterSec * 1000 }),
  };
  return new FoglineError(codeForHttpStatus(res.status), message, { details });
}
