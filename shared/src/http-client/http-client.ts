/**
 * fogline's HTTP client of another server: the edge's of the cloud gateway (edge-agent
 * cloud-client.ts), the cloud's of a model's external OIP server (cloud serving/remote). One
 * keep-alive connection pool (node:http/https Agent, LIFO so the warmest connection goes first; a CA
 * for https when given), headers sent with every call (a credential, a model's configured headers),
 * answers buffered under a byte cap, and transport failures as FoglineErrors:
 *
 * - the call's signal aborted (its deadline passed, its caller stopped) → DEADLINE_EXCEEDED;
 * - refused, reset or dropped connection → UNAVAILABLE;
 * - an answer longer than the cap → INTERNAL (or the call's `tooLargeCode`), its connection destroyed, so the rest of that answer
 *   is neither read nor left for the next call on the pool.
 *
 * The words of those errors are the caller's (`CallWords`): each keeps the messages its callers and
 * tests know. What an answer's status means is the caller's too; the OIP calls over this client
 * (JSON GET, binary infer) are in oip-calls.ts.
 */
import {
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { type ErrorCode, FoglineError } from '../core/errors.ts';

export interface HttpClientOptions {
  /** `http(s)://host:port[/prefix]` of the server; a call's path is resolved against it. */
  readonly baseUrl: string;
  /** Keep-alive connections at most. */
  readonly maxSockets: number;
  /** Largest answer body a call accepts unless it names its own cap. */
  readonly maxResponseBytes: number;
  /** Headers sent with every call; a call's own headers win over them. */
  readonly headers?: Readonly<Record<string, string>>;
  /** CA certificate (PEM) trusted for an `https://` server besides the system CAs. */
  readonly ca?: string;
}

/** The messages of one call's transport errors, in the caller's words. */
export interface CallWords {
  /** DEADLINE_EXCEEDED: the call's signal aborted it. */
  readonly deadline: string;
  /** UNAVAILABLE: no answer came; `err` is Node's (its `code`, e.g. ECONNREFUSED, and message). */
  readonly unreachable: (err: unknown) => string;
  /** The answer is longer than `maxBytes` (INTERNAL, or `tooLargeCode`). */
  readonly tooLarge: (maxBytes: number) => string;
  /** The code of that error when it is not INTERNAL (a download that must match a declared size). */
  readonly tooLargeCode?: ErrorCode;
}

export interface HttpCall {
  readonly method: string;
  /** A path resolved against the base URL (`v2/models/m`), or a URL the caller built once. */
  readonly url: string | URL;
  readonly signal: AbortSignal;
  readonly headers?: Readonly<Record<string, string | number>>;
  readonly body?: Uint8Array;
  /** Largest answer body; default the client's. */
  readonly maxResponseBytes?: number;
  readonly words: CallWords;
}

/** A whole answer, whatever its status. */
export interface HttpAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export class HttpClient {
  /** The base URL, ending in `/`. */
  readonly base: URL;
  private readonly agent: HttpAgent;
  private readonly send: typeof httpRequest;
  private readonly headers: Readonly<Record<string, string>>;
  private readonly maxResponseBytes: number;

  constructor(options: HttpClientOptions) {
    const base = new URL(options.baseUrl);
    this.base = base.href.endsWith('/') ? base : new URL(`${base.href}/`);
    const agentOptions = { keepAlive: true, maxSockets: options.maxSockets, scheduling: 'lifo' as const };
    const https = this.base.protocol === 'https:';
    this.agent = https
      ? new HttpsAgent({ ...agentOptions, ...(options.ca !== undefined && { ca: options.ca }) })
      : new HttpAgent(agentOptions);
    this.send = https ? httpsRequest : httpRequest;
    this.headers = options.headers ?? {};
    this.maxResponseBytes = options.maxResponseBytes;
  }

  /** `path` resolved against the base URL. */
  url(path: string): URL {
    return new URL(path, this.base);
  }

  /** The whole answer, whatever its status; rejects with the transport errors of the module comment. */
  request(call: HttpCall): Promise<HttpAnswer> {
    const { signal, words } = call;
    const maxBytes = call.maxResponseBytes ?? this.maxResponseBytes;
    return new Promise((resolve, reject) => {
      const fail = (err: unknown) => reject(transportError(err, signal, words));
      const req = this.start(call);
      req.on('error', fail);
      req.on('response', (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBytes) {
            res.destroy();
            reject(new FoglineError(words.tooLargeCode ?? 'INTERNAL', words.tooLarge(maxBytes)));
          } else chunks.push(chunk);
        });
        res.on('error', fail);
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      });
      req.end(call.body);
    });
  }

  /**
   * The answer as a stream once its head is in, whatever its status: the caller reads its body and
   * its end (a download). Rejects only before the head, like `request`.
   */
  open(call: Omit<HttpCall, 'body' | 'maxResponseBytes'>): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const req = this.start(call);
      req.on('error', (err) => reject(transportError(err, call.signal, call.words)));
      req.on('response', resolve);
      req.end();
    });
  }

  /** Closes the pooled connections. */
  close(): void {
    this.agent.destroy();
  }

  private start(call: Omit<HttpCall, 'body' | 'maxResponseBytes'>) {
    return this.send(typeof call.url === 'string' ? this.url(call.url) : call.url, {
      method: call.method,
      agent: this.agent,
      signal: call.signal,
      headers: { ...this.headers, ...call.headers },
    });
  }
}

/** A call's transport failure in its words: DEADLINE_EXCEEDED once its signal aborted, else UNAVAILABLE. */
export function transportError(err: unknown, signal: AbortSignal, words: CallWords): FoglineError {
  if (err instanceof FoglineError) return err;
  if (signal.aborted) return new FoglineError('DEADLINE_EXCEEDED', words.deadline, { cause: err });
  return new FoglineError('UNAVAILABLE', words.unreachable(err), { cause: err });
}
