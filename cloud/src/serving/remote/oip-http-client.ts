/**
 * The cloud's HTTP client for a model's external Open Inference Protocol server (Triton, KServe,
 * another fogline): its model metadata and configuration, and inference with Triton's binary tensor
 * extension both ways, with the model's configured headers on every call. Thin over fogline's one
 * HTTP client of another server (`@fogline/shared/http-client`: the keep-alive pool, the byte cap,
 * the transport errors, the OIP calls), which the edge's CloudClient uses too; what is the cloud's
 * own is the words of its errors and what a remote's status means.
 *
 * Every failure is a FoglineError naming the remote (its URL and model, never a header value): an
 * error answer keeps the remote's code (HTTP status → catalogue code, remote 503 → UNAVAILABLE), a
 * call cut by its signal is DEADLINE_EXCEEDED, a refused or dropped connection UNAVAILABLE.
 */
import { codeForHttpStatus, FoglineError, type InferRequestHeader, type Tensor } from '@fogline/shared';
import {
  getJson,
  type HttpAnswer,
  HttpClient,
  type InferAnswer,
  type InferWords,
  inferBinary,
  oipErrorText,
} from '@fogline/shared/http-client';

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

export class OipHttpClient {
  private readonly http: HttpClient;

  constructor(options: OipHttpClientOptions) {
    this.http = new HttpClient({
      baseUrl: options.url,
      maxSockets: options.maxSockets,
      maxResponseBytes: options.maxResponseBytes ?? 64 * 1024 * 1024,
      // The configured headers go under each call's: what the protocol needs cannot be overridden.
      headers: options.headers,
    });
  }

  /** `GET <url>/<path>` as parsed JSON; rejects like every call (see the module comment). */
  getJson(path: string, what: string, signal: AbortSignal): Promise<unknown> {
    const words = { ...remoteWords(what), unreadable: `${what}: the answer is not JSON` };
    return getJson(this.http, { url: path, signal, words });
  }

  /**
   * OIP: `POST <url>/<path>` (an infer route) with `tensors` as binary inputs; the decoded response.
   * `header` should ask for binary outputs (`binary_data_output`).
   */
  infer(
    path: string,
    what: string,
    header: InferRequestHeader,
    tensors: readonly Tensor[],
    signal: AbortSignal,
  ): Promise<InferAnswer> {
    return inferBinary(this.http, { url: path, header, tensors, signal, words: remoteWords(what) });
  }

  /** Closes the idle connections; calls in flight finish. */
  close(): void {
    this.http.close();
  }
}

/** What the cloud says of a call to the remote `what` (its URL and model, never a header value). */
function remoteWords(what: string): InferWords {
  return {
    deadline: `${what} did not answer within the time left`,
    unreachable: (err) => {
      const detail = (err as { code?: unknown }).code ?? (err instanceof Error ? err.message : String(err));
      return `${what} is unreachable (${String(detail)})`;
    },
    tooLarge: (maxBytes) => `${what}: the answer exceeds ${maxBytes} bytes`,
    status: (answer) => remoteError(answer, what),
    unreadable: `${what}: the answer is not a valid OIP response`,
    noOutputs: `${what}: the answer has no outputs`,
  };
}

/**
 * A non-2xx answer as the catalogue code of its status, with the remote's own `error` text. What says
 * the cloud's own setup is wrong (the remote refusing our credentials, not knowing the model, or
 * rate-limiting the cloud) is UNAVAILABLE: our caller's request and credentials are not at fault.
 */
function remoteError(answer: HttpAnswer, what: string): FoglineError {
  const text = oipErrorText(answer);
  const message =
    text === undefined ? `${what} answered HTTP ${answer.status}` : `${what}: ${text.slice(0, 500)}`;
  const code = [401, 403, 404, 429].includes(answer.status)
    ? 'UNAVAILABLE'
    : codeForHttpStatus(answer.status);
  return new FoglineError(code, message, { details: { remoteStatus: answer.status } });
}
