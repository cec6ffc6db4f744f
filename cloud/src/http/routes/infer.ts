/**
 * OIP: `POST /v2/models/{m}[/versions/{v}]/infer`, JSON or Triton binary tensor extension.
 * One handler, `handleInfer`, behind two ways in: node's request and response directly for plain
 * infer paths (infer-direct.ts, tried by the listener before the Hono app), and the Hono route here
 * for the rest and for `app.request()`. It takes a RequestView and answers a Reply.
 * Order: authenticate (and take a rate token), read the body within its limit, then — in one
 * synchronous step — resolve the serving version, decode, validate against the model and queue it,
 * so a concurrent version swap can never hand the request to a retired batcher. A compressed body
 * (`Content-Encoding: gzip|deflate`) is inflated by readBody; the response is compressed when the
 * client's `Accept-Encoding` asks for gzip or deflate, as Triton does. The request `id` is echoed in
 * the response and in an error's body, and logged with the caller's `traceparent` (request-log.ts).
 * A request with `parameters.deadline_ms` (an edge's escalation) is answered DEADLINE_EXCEEDED when
 * its budget runs out first, never late; a model served elsewhere stops its remote call by then.
 */
import {
  BINARY_CONTENT_TYPE,
  Deadline,
  decodeInferBody,
  FoglineError,
  fromUnknown,
  INFERENCE_HEADER_CONTENT_LENGTH,
  systemClock,
} from '@fogline/shared';
import type { Context, Hono } from 'hono';
import { planInfer, requestDeadlineMs } from '../../serving/infer-input.ts';
import { encodeInferResponse } from '../../serving/infer-response.ts';
import type { ModelInstance } from '../../serving/model-instance.ts';
import type { CloudAppDeps } from '../app-deps.ts';
import { compressBody, responseCoding } from '../content-encoding.ts';
import { errorReply } from '../error-response.ts';
import { readBody } from '../read-body.ts';
import { type Reply, replyResponse } from '../reply.ts';
import { requestLine } from '../request-log.ts';
import { contextView, type RequestView } from '../request-view.ts';
import { parseVersion } from './params.ts';

/** RequestView asks header names in lower case. */
const HEADER_LENGTH = INFERENCE_HEADER_CONTENT_LENGTH.toLowerCase();

export function registerInferRoutes(app: Hono, deps: CloudAppDeps): void {
  const handler = async (c: Context) => replyResponse(await handleInfer(contextView(c), deps));
  app.post('/v2/models/:model/infer', handler);
  app.post('/v2/models/:model/versions/:version/infer', handler);
}

/** Answers one infer request; never rejects: every failure is an OIP error reply. */
export async function handleInfer(req: RequestView, deps: CloudAppDeps): Promise<Reply> {
  const started = performance.now();
  let instance: ModelInstance | undefined;
  let id: string | undefined;
  try {
    const admitted = deps.guard.admit(req.header('authorization'), req.remoteAddress, req.incoming?.socket);
    if (admitted instanceof Promise) await admitted;
    const body = await readBody(req, deps.maxBodyBytes);
    const decodeStarted = performance.now();
    const headerLength = inferenceHeaderLength(req.header(HEADER_LENGTH), body.length);
    const version = parseVersion(req.param('version'));
    instance = deps.models.resolve(req.param('model')!, version);
    // The same header as the version's last request: its decode and plan again (infer-input.ts).
    let recalled = instance.requestHeader.recall(body, headerLength);
    if (recalled === undefined) {
      const decoded = decodeInferBody(body, headerLength, instance.codecLimits);
      id = typeof decoded.header.id === 'string' ? decoded.header.id : undefined;
      if (decoded.kind !== 'request') {
        throw new FoglineError('INVALID_ARG', 'inference request must have an "inputs" array');
      }
      const { config } = instance;
      const planned = planInfer(
        instance.name,
        config,
        instance.batching.maxBatchSize,
        decoded.header,
        decoded.tensors,
      );
      instance.requestHeader.remember(body, headerLength, config, decoded.header, planned);
      recalled = { header: decoded.header, plan: planned };
    } else if (typeof recalled.header.id === 'string') id = recalled.header.id;
    const { header, plan } = recalled;
    const served = instance;
    const deadlineMs = requestDeadlineMs(header);
    const inputMs = performance.now() - decodeStarted;
    const outputs = await (deadlineMs === undefined
      ? served.infer(plan.item)
      : new Deadline(systemClock, started, deadlineMs, 0).race(
          served.infer({ ...plan.item, deadlineAt: started + deadlineMs }),
          `model "${served.name}"`,
        ));
    const encodeStarted = performance.now();
    const encoded = encodeInferResponse(
      served.name,
      served.version,
      header,
      plan,
      outputs,
      served.config,
      served.replyHeader,
    );
    const headers: Record<string, string> = encoded.binary
      ? {
          'content-type': BINARY_CONTENT_TYPE,
          // Triton: the length of the JSON header before any Content-Encoding.
          [INFERENCE_HEADER_CONTENT_LENGTH]: String(encoded.headerLength),
        }
      : { 'content-type': 'application/json' };
    let out = encoded.body;
    // RFC 9110 §12.5.5: this answer's encoding depends on Accept-Encoding, so say so on every one,
    // compressed or not, or a shared cache could hand a gzip body to a client that never asked.
    headers.vary = 'Accept-Encoding';
    const coding = responseCoding(req.header('accept-encoding'));
    if (coding !== undefined) {
      out = await compressBody(out, coding);
      headers['content-encoding'] = coding;
    }
    const outputMs = performance.now() - encodeStarted;
    // Triton: a cache hit is a success, but no compute_input or compute_output.
    const computed = !served.answeredFromCache(outputs);
    // On a socket, the bookkeeping waits until the answer is written (setImmediate runs after this
    // turn's writes): a lone request's latency does not include it. `app.request()` has no socket.
    if (req.incoming) setImmediate(answered, deps, served, req, id, started, computed, inputMs, outputMs);
    else answered(deps, served, req, id, started, computed, inputMs, outputMs);
    return { status: 200, headers, body: out };
  } catch (err) {
    const e = fromUnknown(err);
    finish(deps, instance, started, e.httpStatus);
    deps.logRequest?.(requestLine(req, id, e.httpStatus, started, e));
    return errorReply(e, deps.log, id);
  }
}

/** Triton: the header length says where the JSON ends; absent, the whole body is JSON. */
function inferenceHeaderLength(value: string | undefined, bodyLength: number): number {
  if (value === undefined) return bodyLength;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) {
    throw new FoglineError(
      'INVALID_ARG',
      `${INFERENCE_HEADER_CONTENT_LENGTH} must be a byte count, got "${value}"`,
    );
  }
  return n;
}

/** Statistics, metrics and the request log of an answered request. */
function answered(
  deps: CloudAppDeps,
  served: ModelInstance,
  req: RequestView,
  id: string | undefined,
  started: number,
  computed: boolean,
  inputMs: number,
  outputMs: number,
): void {
  if (computed) served.requests.recordCompute(inputMs, outputMs);
  finish(deps, served, started, 200);
  deps.logRequest?.(requestLine(req, id, 200, started));
}

function finish(
  deps: CloudAppDeps,
  instance: ModelInstance | undefined,
  started: number,
  status: number,
): void {
  const ms = performance.now() - started;
  deps.metrics.countRequest(instance, status);
  if (!instance) return;
  instance.requests.record(status === 200, ms);
  if (status === 200) deps.metrics.observeLatency(instance, ms / 1000);
}
