/**
 * OIP HTTP body with Triton's binary tensor data extension: the JSON header (its byte length goes in
 * `Inference-Header-Content-Length`) followed by the raw tensors, in header order, of every input
 * (request) or output (response) whose parameters carry `binary_data_size`.
 */
import { FoglineError } from '../errors.ts';
import {
  BINARY_DATA,
  BINARY_DATA_OUTPUT,
  BINARY_DATA_SIZE,
  type InferErrorResponse,
  type InferRequest,
  type InferRequestHeader,
  type InferResponse,
  type InferResponseHeader,
  type RequestInput,
  type Tensor,
  type TensorData,
} from '../oip.ts';
import { parseHeader } from './header.ts';
import { readJsonData, writeJsonData } from './json-data.ts';
import { type CodecLimits, DEFAULT_CODEC_LIMITS, elementCount, resolveLimits } from './limits.ts';
import { binaryByteLength, checkTensorData, readTensorBytes, writeTensorBytes } from './tensor-bytes.ts';

export interface EncodeOptions {
  /** Which tensors travel as binary (default: all). FP16 is always binary: JSON cannot carry it. */
  binary?: boolean | ((tensor: Tensor) => boolean);
}

export interface EncodedInferBody {
  body: Uint8Array;
  /** Value for the `Inference-Header-Content-Length` HTTP header. */
  headerLength: number;
}

export type DecodedInfer =
  | { kind: 'request'; header: InferRequest; tensors: Tensor[] }
  | { kind: 'response'; header: InferResponse; tensors: Tensor[] }
  | { kind: 'error'; header: InferErrorResponse; tensors: Tensor[] };

/** The JSON header is padded with spaces so that binary tensor data starts 8-byte aligned in the frame. */
const ALIGN = 8;
const utf8 = new TextEncoder();

/**
 * Encodes a request (header without `inputs`) or a response (header with `model_name`, without
 * `outputs`); `tensors` become its inputs or outputs, in order. The body may share its ArrayBuffer
 * (see encodeFrame).
 */
export function encodeInferBody(
  header: InferRequestHeader | InferResponseHeader,
  tensors: readonly Tensor[],
  options?: EncodeOptions,
): EncodedInferBody {
  const { frame, headerLength } = encodeFrame(header, tensors, options, 0);
  return { body: frame, headerLength };
}

/**
 * Builds `prefix bytes (zeroed) | JSON header | binary tensors` in one allocation. In Node the frame
 * may be a view into Buffer's shared pool: use its byteOffset/byteLength, never its whole `.buffer`,
 * and never transfer that buffer to a worker.
 */
export function encodeFrame(
  header: InferRequestHeader | InferResponseHeader,
  tensors: readonly Tensor[],
  options: EncodeOptions | undefined,
  prefixLength: number,
): { frame: Uint8Array; headerLength: number } {
  const isResponse = 'model_name' in header;
  const role = isResponse ? 'output' : 'input';
  const binaryTensors: Tensor[] = [];
  let binaryLength = 0;
  // Every reply goes through here: no more objects per tensor than its JSON needs.
  const described = tensors.map((tensor, i): RequestInput => {
    const where = `${role} "${tensor.name}"`;
    if (tensor.name === '' || tensors.findLastIndex((t) => t.name === tensor.name) !== i) {
      throw new FoglineError('INVALID_ARG', `${where}: tensor names must be non-empty and unique`);
    }
    checkTensorData(tensor, elementCount(tensor.shape, where, DEFAULT_CODEC_LIMITS), where);
    // Only stringified: the tensor's own shape array will do.
    const entry: RequestInput = {
      name: tensor.name,
      shape: tensor.shape as number[],
      datatype: tensor.datatype,
    };
    if (wantsBinary(tensor, options)) {
      const size = binaryByteLength(tensor);
      entry.parameters = tensor.parameters
        ? { ...tensor.parameters, [BINARY_DATA_SIZE]: size }
        : { [BINARY_DATA_SIZE]: size };
      binaryTensors.push(tensor);
      binaryLength += size;
    } else {
      if (tensor.parameters) entry.parameters = { ...tensor.parameters };
      entry.data = writeJsonData(tensor, where);
    }
    return entry;
  });
  const json = JSON.stringify(
    isResponse ? { ...header, outputs: described } : { ...header, inputs: described },
  );
  return frameHeader(prefixLength, json, binaryTensors, binaryLength);
}

/**
 * `prefix bytes (zeroed) | json | spaces | tensors' binary layout`, `binaryLength` bytes in all: the
 * frame of a header already written as JSON whose tensors all travel as binary, in that order (what
 * encodeFrame does once it has described them; a caller that writes its own header's JSON, e.g. the
 * fabric's reply, checks its tensors as encodeFrame does).
 */
export function frameHeader(
  prefixLength: number,
  json: string,
  binaryTensors: readonly Tensor[],
  binaryLength: number,
): { frame: Uint8Array; headerLength: number } {
  const { frame, jsonLength } = allocateFrame(prefixLength, json, binaryLength);
  const headerLength = jsonLength + padding(prefixLength + jsonLength, binaryLength);
  frame.fill(0x20, prefixLength + jsonLength, prefixLength + headerLength);
  let at = prefixLength + headerLength;
  for (const tensor of binaryTensors) at = writeTensorBytes(tensor, frame, at);
  return { frame, headerLength };
}

/** Spaces after the JSON header so that binary data after `at` starts ALIGN-aligned; none without any. */
function padding(at: number, binaryLength: number): number {
  return binaryLength === 0 ? 0 : (ALIGN - (at % ALIGN)) % ALIGN;
}

/**
 * Node's Buffer where there is one: a pooled allocation that is not zeroed first and a UTF-8 write
 * straight into it, on the hot path of every reply. Elsewhere (browsers) plain typed arrays.
 */
const NodeBuffer = (globalThis as { Buffer?: typeof Buffer }).Buffer;

/** `prefix (zeroed) | json (UTF-8) | room for padding and binaryLength bytes`, the latter not yet written. */
function allocateFrame(
  prefixLength: number,
  json: string,
  binaryLength: number,
): { frame: Uint8Array; jsonLength: number } {
  if (NodeBuffer) {
    const jsonLength = NodeBuffer.byteLength(json, 'utf8');
    const total = prefixLength + jsonLength + padding(prefixLength + jsonLength, binaryLength) + binaryLength;
    const buffer = NodeBuffer.allocUnsafe(total);
    buffer.fill(0, 0, prefixLength);
    buffer.write(json, prefixLength, 'utf8');
    // A plain Uint8Array view: callers get the same type (and `slice` copying) on every platform.
    return { frame: new Uint8Array(buffer.buffer, buffer.byteOffset, total), jsonLength };
  }
  const jsonBytes = utf8.encode(json);
  const jsonLength = jsonBytes.length;
  const frame = new Uint8Array(
    prefixLength + jsonLength + padding(prefixLength + jsonLength, binaryLength) + binaryLength,
  );
  frame.set(jsonBytes, prefixLength);
  return { frame, jsonLength };
}

function wantsBinary(tensor: Tensor, options: EncodeOptions | undefined): boolean {
  if (tensor.datatype === 'FP16') return true;
  const choice = options?.binary ?? true;
  return typeof choice === 'function' ? choice(tensor) : choice;
}

/**
 * Decodes a body whose first `headerLength` bytes are the JSON header. A body with
 * `headerLength === body.length` is plain JSON. Every malformed input throws FoglineError INVALID_ARG.
 * Binary tensors are views into `body` where alignment allows: copy them if `body` is reused.
 */
export function decodeInferBody(
  body: Uint8Array,
  headerLength: number,
  limits?: Partial<CodecLimits>,
): DecodedInfer {
  const bounds = resolveLimits(limits);
  if (!Number.isSafeInteger(headerLength) || headerLength <= 0) {
    throw new FoglineError(
      'INVALID_ARG',
      `inference header length must be a positive integer, got ${headerLength}`,
    );
  }
  if (headerLength > body.length) {
    throw new FoglineError(
      'INVALID_ARG',
      `inference header length ${headerLength} runs past the end of the ${body.length}-byte body`,
    );
  }
  const parsed = parseHeader(body.subarray(0, headerLength), bounds);
  if (parsed.kind === 'error') {
    checkNoTrailing(body.length - headerLength);
    return { kind: 'error', header: parsed.header, tensors: [] };
  }
  const role = parsed.kind === 'request' ? 'input' : 'output';
  const list: RequestInput[] = parsed.kind === 'request' ? parsed.header.inputs : parsed.header.outputs;
  let at = headerLength;
  // A plain loop and the result built field by field: every request on every tier comes through here.
  const tensors: Tensor[] = [];
  for (const entry of list) {
    const where = `${role} "${entry.name}"`;
    const count = elementCount(entry.shape, where, bounds);
    const size = entry.parameters?.[BINARY_DATA_SIZE];
    let data: TensorData;
    if (typeof size === 'number') {
      if (size > body.length - at) {
        throw new FoglineError(
          'INVALID_ARG',
          `${where}: ${BINARY_DATA_SIZE} ${size} runs past the end of the body (${body.length - at} bytes left)`,
        );
      }
      data = readTensorBytes(entry.datatype, body.subarray(at, at + size), count, where);
      at += size;
    } else {
      data = readJsonData(entry.datatype, entry.data, count, where, entry.shape.length);
    }
    const tensor = { name: entry.name, datatype: entry.datatype, shape: entry.shape, data } as Tensor;
    if (entry.parameters) tensor.parameters = entry.parameters;
    tensors.push(tensor);
  }
  checkNoTrailing(body.length - at);
  return { kind: parsed.kind, header: parsed.header, tensors } as DecodedInfer;
}

function checkNoTrailing(extra: number): void {
  if (extra !== 0) {
    throw new FoglineError('INVALID_ARG', `inference body has ${extra} bytes after the last binary tensor`);
  }
}

/**
 * Triton binary extension: should response output `name` be binary? The output's own
 * `binary_data` parameter wins; otherwise the request's `binary_data_output`; default JSON.
 */
export function wantsBinaryOutput(request: InferRequest, name: string): boolean {
  const own = request.outputs?.find((o) => o.name === name)?.parameters?.[BINARY_DATA];
  if (typeof own === 'boolean') return own;
  return request.parameters?.[BINARY_DATA_OUTPUT] === true;
}
