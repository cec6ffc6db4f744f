/**
 * The cloud's HTTP client for a model's external Open Inference Protocol server (Triton, KServe,
 * another fogline): its model metadata and configuration, and inference with Triton's binary tensor
 * extension both ways (the shared codec), over keep-alive connections (node:http Agent, as the edge's
 * CloudClient), with the model's configured headers on every call.
 *
 * Every failure is a FoglineError naming the remote (its URL and model, never a header value): an
 * error answer keeps the remote's code (HTTP status → catalogue code, remote 503 → UNAVAILABLE), a
 * call cut by its signal is DEADLINE_EXCEEDED, a refused or dropped connection UNAVAILABLE.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import {
  BINARY_CONTENT_TYPE,
  codeForHttpStatus,
  type DecodedInfer,
  decodeInferBody,
  encodeInferBody,
  FoglineError,
  INFERENCE_HEADER_CONTENT_LENGTH,
  type InferRequestHeader,
  type Tensor,
} from '@fogline/shared';

export interface OipHttpClientOptions {
  /** `http(s)://host:port[/prefix]` of the remote server. */
  readonly url: string;
  /** Headers sent with every call (resolved: no `${ENV}` left). */
  readonly headers: Readonly<Record<string, string>>;
  /** Keep-alive connections at most. */
  readonly maxSockets: number;
  /** Largest response body accepted. Default 64 MiB. */
  readonly maxResponseBytes?: number;
}

interface RawResponse {
  status: number;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

export class OipHttpClient {
  private readonly base: URL;
  private readonly agent: HttpAgent;
  private readonly send: typeof httpRequest;
  private readonly maxResponseBytes: number;

  constructor(private readonly options: OipHttpClientOptions) {
    this.base = new URL(options.url.endsWith('/') ? options.url : `${options.url}/`);
    const agentOptions = { keepAlive: true, maxSockets: options.maxSockets, scheduling: 'lifo' as const };
    const https = this.base.protocol === 'https:';
    this.agent = https ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions);
    this.send = https ? httpsRequest : httpRequest;
    this.maxResponseBytes = options.maxResponseBytes ?? 64 * 1024 * 1024;
  }

  /** `GET <url>/<path>` as parsed JSON; rejects like every call (see the module comment). */
  async getJson(path: string, what: string, signal: AbortSignal): Promise<unknown> {
    const res = await this.request(
      path,
      what,
      { method: 'GET', headers: { accept: 'application/json' } },
      signal,
    );
    if (res.status !== 200) throw remoteError(res, what);
    try {
      return JSON.parse(res.body.toString('utf8')) as unknown;
    } catch (cause) {
      throw new FoglineError('INTERNAL', `${what}: the answer is not JSON`, { cause });
    }
  }

  /**
   * OIP: `POST <url>/<path>` (an infer route) with `tensors` as binary inputs; the decoded response.
   * `header` should ask for binary outputs (`binary_data_output`).
   */
  async infer(
    path: string,
    what: string,
    header: InferRequestHeader,
    tensors: readonly Tensor[],
    signal: AbortSignal,
  ): Promise<Extract<DecodedInfer, { kind: 'response' }>> {
    const { body, headerLength } = encodeInferBody(header, tensors);
    const res = await this.request(
      path,
      what,
      {
        method: 'POST',
        headers: {
          'content-type': BINARY_CONTENT_TYPE,
          'content-length': body.length,
          [INFERENCE_HEADER_CONTENT_LENGTH]: headerLength,
        },
      },
      signal,
      body,
    );
    if (res.status < 200 || res.status >= 300) throw remoteError(res, what);
    const length = res.headers[INFERENCE_HEADER_CONTENT_LENGTH.toLowerCase()];
    let decoded: DecodedInfer;
    try {
      const bytes = new Uint8Array(res.body.buffer, res.body.byteOffset, res.body.length);
      decoded = decodeInferBody(bytes, length === undefined ? bytes.length : Number(length));
    } catch (cause) {
      throw new FoglineError('INTERNAL', `${what}: the answer is not a valid OIP response`, { cause });
    }
    if (decoded.kind !== 'response') throw new FoglineError('INTERNAL', `${what}: the answer has no outputs`);
    return decoded;
  }

  /** Closes the idle connections; calls in flight finish. */
  close(): void {
    this.agent.destroy();
  }

  private request(
    path: string,
    what: string,
    init: { method: string; headers: Record<string, string | number> },
    signal: AbortSignal,
    body?: Uint8Array,
  ): Promise<RawResponse> {
    const url = new URL(path, this.base);
    return new Promise((resolve, reject) => {
      const fail = (err: unknown) => reject(transportError(err, signal, what));
      const req = this.send(url, {
        method: init.method,
        agent: this.agent,
        signal,
        // The configured headers first: what the protocol needs cannot be overridden by them.
        headers: { ...this.options.headers, ...init.headers },
      });
      req.on('error', fail);
      req.on('response', (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > this.maxResponseBytes) {
            res.destroy();
            reject(
              new FoglineError('INTERNAL', `${what}: the answer exceeds ${this.maxResponseBytes} bytes`),
            );
          } else chunks.push(chunk);
        });
        res.on('error', fail);
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      });
      req.end(body);
    });
  }
}

/**
 * A non-2xx answer as the catalogue code of its status, with the remote's own `error` text. What says
 * the cloud's own setup is wrong (the remote refusing our credentials, not knowing the model, or
 * rate-limiting the cloud) is UNAVAILABLE: our caller's request and credentials are not at fault.
 */
function remoteError(res: RawResponse, what: string): FoglineError {
  let message = `${what} answered HTTP ${res.status}`;
  try {
    const parsed = JSON.parse(res.body.toString('utf8')) as { error?: unknown };
    // OIP: `$inference_error_response`; anything else keeps the status line.
    if (typeof parsed.error === 'string') message = `${what}: ${parsed.error.slice(0, 500)}`;
  } catch {}
  const code = [401, 403, 404, 429].includes(res.status) ? 'UNAVAILABLE' : codeForHttpStatus(res.status);
  return new FoglineError(code, message, {
    details: { remoteStatus: res.status },
  });
}

function transportError(err: unknown, signal: AbortSignal, what: string): FoglineError {
  if (err instanceof FoglineError) return err;
  if (signal.aborted) {
    return new FoglineError('DEADLINE_EXCEEDED', `${what} did not answer within the time left`, {
      cause: err,
    });
  }
  const detail = (err as { code?: unknown }).code ?? (err instanceof Error ? err.message : String(err));
  return new FoglineError('UNAVAILABLE', `${what} is unreachable (${String(detail)})`, { cause: err });
}
