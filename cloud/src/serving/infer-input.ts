/**
 * Validation of a decoded OIP inference request against the model it addresses, so that nothing
 * onnxruntime could choke on ever reaches it: every model input present once and no other, the
 * model's datatype (FP32, FP16 as half bits, UINT8 or INT8, as its config says: the bytes go to
 * onnxruntime as they are), the model's shape apart from the batch dim, one batch size across inputs within
 * `max_batch_size`, requested outputs that exist. Element counts and binary sizes were already
 * checked by the codec (decodeInferBody) with limits derived from the model (see `codecLimitsFor`).
 */
import type { CodecLimits, InferRequest, ModelConfig, Tensor, TensorSpec } from '@fogline/shared';
import { BINARY_DATA_SIZE, FoglineError } from '@fogline/shared';
import { type InferItem, sampleElements } from '@fogline/shared/runtime';

/** What the response needs to know about the request besides the tensors. */
export interface InferPlan {
  item: InferItem;
  /** Outputs to return, in order (all model outputs when the request names none). */
  outputs: string[];
}

const MAX_RANK = 8;
const MAX_TENSORS = 16;

/**
 * Codec bounds for requests to this model, so an absurd shape is refused before any allocation. The
 * bound is a generous multiple of the model's largest input at its maximum batch: a batch that is
 * merely too large still decodes and gets the precise max_batch_size error from planInfer.
 */
export function codecLimitsFor(config: ModelConfig, maxBatchSize: number): Partial<CodecLimits> {
  const largest = Math.max(...config.inputs.map(sampleElements));
  return Object.freeze({
    maxElements: largest * maxBatchSize * 16,
    maxRank: MAX_RANK,
    maxTensors: MAX_TENSORS,
  });
}

/** Checks `request` and `tensors` against `config`; throws INVALID_ARG naming the first problem. */
export function planInfer(
  modelName: string,
  config: ModelConfig,
  maxBatchSize: number,
  request: InferRequest,
  tensors: readonly Tensor[],
): InferPlan {
  const where = `model "${modelName}"`;
  const expected = config.inputs.map((s) => s.name);
  for (const t of tensors) {
    if (!expected.includes(t.name)) {
      throw new FoglineError(
        'INVALID_ARG',
        `${where} has no input "${t.name}" (expects ${expected.map((n) => `"${n}"`).join(', ')})`,
      );
    }
  }
  let batch = -1;
  const inputs: Uint8Array[] = [];
  for (const spec of config.inputs) {
    const t = tensors.find((x) => x.name === spec.name);
    if (!t) throw new FoglineError('INVALID_ARG', `${where}: input "${spec.name}" is missing`);
    const b = checkShape(where, spec, t);
    if (batch !== -1 && b !== batch) {
      throw new FoglineError(
        'INVALID_ARG',
        `${where}: inputs disagree on the batch size (${batch} vs ${b} for "${spec.name}")`,
      );
    }
    batch = b;
    if (t.datatype !== spec.datatype) {
      throw new FoglineError(
        'INVALID_ARG',
        `${where}: input "${spec.name}" has datatype ${t.datatype}, the model expects ${spec.datatype}`,
      );
    }
    const data = t.data;
    inputs.push(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
  if (batch < 1 || batch > maxBatchSize) {
    throw new FoglineError(
      'INVALID_ARG',
      `${where}: batch size ${batch} is outside 1..${maxBatchSize} (max_batch_size)`,
    );
  }
  return { item: { batch, inputs }, outputs: requestedOutputs(where, config, request) };
}

/** Returns the batch dim after checking rank and every fixed dim against the spec. */
function checkShape(where: string, spec: TensorSpec, t: Tensor): number {
  const shape = t.shape;
  const fits =
    shape.length === spec.shape.length && spec.shape.every((d, i) => i === 0 || d === -1 || d === shape[i]);
  if (!fits) {
    const want = `[${spec.shape.join(',')}]`;
    throw new FoglineError(
      'INVALID_ARG',
      `${where}: input "${spec.name}" has shape [${shape.join(',')}], the model expects ${want} (-1 = batch)`,
    );
  }
  return shape[0]!;
}

function requestedOutputs(where: string, config: ModelConfig, request: InferRequest): string[] {
  const known = config.outputs.map((o) => o.name);
  if (!request.outputs || request.outputs.length === 0) return known;
  return request.outputs.map((o) => {
    if (!known.includes(o.name)) {
      throw new FoglineError(
        'INVALID_ARG',
        `${where} has no output "${o.name}" (has ${known.map((n) => `"${n}"`).join(', ')})`,
      );
    }
    return o.name;
  });
}

/** Longest `parameters.deadline_ms` honoured (as the cloud's device fabric caps it). */
export const MAX_REQUEST_DEADLINE_MS = 60_000;

/**
 * fogline's `parameters.deadline_ms`: the budget the caller has left (an edge escalating sends it;
 * docs/cloud.md "Models served elsewhere"), capped at MAX_REQUEST_DEADLINE_MS; undefined when the
 * request has none. INVALID_ARG when it is not a number, DEADLINE_EXCEEDED when no budget is left.
 */
export function requestDeadlineMs(request: InferRequest): number | undefined {
  const deadline = request.parameters?.deadline_ms;
  if (deadline === undefined) return undefined;
  if (typeof deadline !== 'number' || !Number.isFinite(deadline)) {
    throw new FoglineError('INVALID_ARG', 'parameters.deadline_ms must be a number of ms');
  }
  if (deadline <= 0) throw new FoglineError('DEADLINE_EXCEEDED', 'request arrived with no budget left');
  return Math.min(deadline, MAX_REQUEST_DEADLINE_MS);
}

/** Longest request header a RequestHeaderMemo keeps (a header with tensor data in it is longer). */
const MEMO_MAX_HEADER_BYTES = 1024;

/** A request whose header a RequestHeaderMemo recognised: the decoded header and the plan. */
export interface RecalledRequest {
  header: InferRequest;
  plan: InferPlan;
}

/**
 * One model version's last all-binary request header: its bytes, and what decoding and planning it
 * gave. A client sends the same header with every request of one shape, so a request whose body is as
 * long and whose header bytes are the same as the last one's decodes and plans to the same header,
 * outputs and batch, its inputs at the same offsets: it takes them from here instead of parsing and
 * validating the header again (after a model run that code is out of the CPU's caches; docs/cloud.md
 * "Where a lone request's time goes"). Only headers with no `id` and every input binary and numeric
 * (no BOOL, whose bytes are checked, nor BYTES) are kept. The recalled header is shared: it is read,
 * never written. The last header may be another client's: the bytes are compared in time that
 * depends on their length only, and one with an id (the one thing in it a client might not want
 * guessed, through a hit's shorter answer) is never kept.
 */
export class RequestHeaderMemo {
  private bytes: Uint8Array | undefined;
  private bodyLength = -1;
  private header: InferRequest | undefined;
  private outputs: string[] = [];
  private batch = 0;
  /** Per model input, in the config's order: where its bytes lie in the body, and how many. */
  private spans: { at: number; size: number }[] = [];

  /** The header and plan of `body` when its header is the remembered one; undefined otherwise. */
  recall(body: Uint8Array, headerLength: number): RecalledRequest | undefined {
    const { bytes, header } = this;
    if (bytes === undefined || header === undefined) return undefined;
    if (body.length !== this.bodyLength || headerLength !== bytes.length) return undefined;
    let diff = 0;
    for (let i = 0; i < headerLength; i++) diff |= bytes[i]! ^ body[i]!;
    if (diff !== 0) return undefined;
    const inputs = this.spans.map(({ at, size }) => body.subarray(at, at + size));
    return { header, plan: { item: { batch: this.batch, inputs }, outputs: this.outputs } };
  }

  /** `body`'s header decoded to `header` and planned to `plan` against `config`. */
  remember(
    body: Uint8Array,
    headerLength: number,
    config: ModelConfig,
    header: InferRequest,
    plan: InferPlan,
  ): void {
    if (headerLength > MEMO_MAX_HEADER_BYTES || header.id !== undefined) return;
    const at = new Map<string, { at: number; size: number }>();
    let offset = headerLength;
    for (const input of header.inputs) {
      const size = input.parameters?.[BINARY_DATA_SIZE];
      if (typeof size !== 'number' || input.datatype === 'BOOL' || input.datatype === 'BYTES') return;
      at.set(input.name, { at: offset, size });
      offset += size;
    }
    this.spans = config.inputs.map((spec) => at.get(spec.name)!);
    this.bytes = body.slice(0, headerLength);
    this.bodyLength = body.length;
    this.header = header;
    this.outputs = plan.outputs;
    this.batch = plan.item.batch;
  }
}
