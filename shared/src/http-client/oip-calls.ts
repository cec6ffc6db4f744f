/**
 * The Open Inference Protocol calls fogline makes over an HttpClient: a JSON GET (model metadata,
 * model config) and infer with Triton's binary tensor extension both ways (the shared codec; the
 * answer's JSON header length in `Inference-Header-Content-Length`, a plain JSON answer without it).
 * An answer the call does not take is the caller's error (`ReadWords.status`, its own mapping of
 * statuses to catalogue codes); `oipErrorText` reads the remote's OIP error text for it.
 */
import {
  BINARY_CONTENT_TYPE,
  type DecodedInfer,
  decodeInferBody,
  encodeInferBody,
  FoglineError,
  INFERENCE_HEADER_CONTENT_LENGTH,
  type InferRequestHeader,
  type Tensor,
} from '../core/index.ts';
import type { CallWords, HttpAnswer, HttpClient } from './http-client.ts';

/** What a call that reads its answer says besides its transport errors. */
export interface ReadWords extends CallWords {
  /** The error for an answer whose status the call does not take. */
  readonly status: (answer: HttpAnswer) => FoglineError;
  /** INTERNAL: the body is not what the call reads (not JSON; not an OIP body). */
  readonly unreadable: string;
}

export interface InferWords extends ReadWords {
  /** INTERNAL: the answer is an OIP body without outputs. */
  readonly noOutputs: string;
}

export interface JsonGet {
  readonly url: string | URL;
  readonly signal: AbortSignal;
  readonly maxResponseBytes?: number;
  readonly words: ReadWords;
}

export interface BinaryInfer {
  /** The model's infer route (`v2/models/{model}[/versions/{v}]/infer`). */
  readonly url: string | URL;
  /** Should ask for binary outputs (`binary_data_output`). */
  readonly header: InferRequestHeader;
  /** Sent as binary inputs. */
  readonly tensors: readonly Tensor[];
  readonly signal: AbortSignal;
  /** Headers of this call besides the protocol's (e.g. `traceparent`). */
  readonly headers?: Readonly<Record<string, string>>;
  readonly words: InferWords;
}

export type InferAnswer = Extract<DecodedInfer, { kind: 'response' }>;

/** `GET` asking for JSON: the parsed body of a 200 answer, unvalidated. */
export async function getJson(client: HttpClient, call: JsonGet): Promise<unknown> {
  const answer = await client.request({
    method: 'GET',
    url: call.url,
    signal: call.signal,
    headers: { accept: 'application/json' },
    ...(call.maxResponseBytes !== undefined && { maxResponseBytes: call.maxResponseBytes }),
    words: call.words,
  });
  if (answer.status !== 200) throw call.words.status(answer);
  try {
    return JSON.parse(answer.body.toString('utf8')) as unknown;
  } catch (cause) {
    throw new FoglineError('INTERNAL', call.words.unreadable, { cause });
  }
}

/** OIP: infer, `tensors` as binary inputs; the decoded response of a 2xx answer. */
export async function inferBinary(client: HttpClient, call: BinaryInfer): Promise<InferAnswer> {
  const { body, headerLength } = encodeInferBody(call.header, call.tensors);
  const answer = await client.request({
    method: 'POST',
    url: call.url,
    signal: call.signal,
    headers: {
      'content-type': BINARY_CONTENT_TYPE,
      'content-length': body.length,
      [INFERENCE_HEADER_CONTENT_LENGTH]: headerLength,
      ...call.headers,
    },
    body,
    words: call.words,
  });
  if (answer.status < 200 || answer.status >= 300) throw call.words.status(answer);
  const length = answer.headers[INFERENCE_HEADER_CONTENT_LENGTH.toLowerCase()];
  let decoded: DecodedInfer;
  try {
    const bytes = new Uint8Array(answer.body.buffer, answer.body.byteOffset, answer.body.length);
    decoded = decodeInferBody(bytes, length === undefined ? bytes.length : Number(length));
  } catch (cause) {
    throw new FoglineError('INTERNAL', call.words.unreadable, { cause });
  }
  if (decoded.kind !== 'response') throw new FoglineError('INTERNAL', call.words.noOutputs);
  return decoded;
}

/** OIP: the `error` text of an error answer (`$inference_error_response`); undefined when it is none. */
export function oipErrorText(answer: HttpAnswer): string | undefined {
  try {
    const parsed = JSON.parse(answer.body.toString('utf8')) as { error?: unknown };
    if (typeof parsed.error === 'string') return parsed.error;
  } catch {
    // Not JSON: the caller keeps the status line.
  }
  return undefined;
}
