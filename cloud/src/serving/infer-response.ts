/**
 * OIP inference response (`$inference_response`) for one request: the requested outputs in the
 * order asked, the request id echoed, each output binary or JSON as the Triton binary extension
 * says (`binary_data` per output, else `binary_data_output` per request, else JSON).
 *
 * An all-binary reply with no id has a JSON header that depends only on the model version, the
 * outputs' names, datatypes and shapes: a version's ReplyHeaderMemo keeps the last one's bytes, and a
 * reply that would encode the same header copies them instead of building and stringifying it again.
 * After a model run the encoder's code and data are out of the CPU's caches, so at concurrency 1 this
 * is most of what the encode costs (docs/cloud.md, "Where a lone request's time goes").
 */

import type { InferRequest, InferResponseHeader, ModelConfig, Tensor } from '@fogline/shared';
import { encodeInferBody, wantsBinaryOutput } from '@fogline/shared';
import type { TensorMap } from '@fogline/shared/runtime';
import type { InferPlan } from './infer-input.ts';

export interface EncodedInferResponse {
  body: Uint8Array;
  /** `Inference-Header-Content-Length`; equals `body.length` when nothing is binary. */
  headerLength: number;
  binary: boolean;
}

export function encodeInferResponse(
  modelName: string,
  modelVersion: number,
  request: InferRequest,
  plan: InferPlan,
  outputs: TensorMap,
  config: Pick<ModelConfig, 'outputs'>,
  memo?: ReplyHeaderMemo,
): EncodedInferResponse {
  const header: InferResponseHeader = { model_name: modelName, model_version: String(modelVersion) };
  if (request.id !== undefined) header.id = request.id;
  let binary = false;
  let allBinary = true;
  const tensors = plan.outputs.map((name): Tensor => {
    const out = outputs[name]!;
    // The output's config datatype: onnxruntime returned its typed array (FP16 as half bits, which
    // JSON cannot carry: the codec always sends FP16 binary, as Triton does).
    const datatype = config.outputs.find((o) => o.name === name)?.datatype ?? 'FP32';
    if (wantsBinaryOutput(request, name) || datatype === 'FP16') binary = true;
    else allBinary = false;
    return { name, datatype, shape: out.dims, data: out.data } as Tensor;
  });
  const remembered = allBinary && request.id === undefined && memo ? memo : undefined;
  const body = remembered?.encode(modelName, modelVersion, tensors);
  if (body) return body;
  const encoded = encodeInferBody(header, tensors, {
    binary: binary ? (t) => wantsBinaryOutput(request, t.name) || t.datatype === 'FP16' : false,
  });
  remembered?.remember(modelName, modelVersion, tensors, encoded.body, encoded.headerLength);
  // All JSON: no binary data follows the header, so the codec adds no padding: a clean JSON body.
  return { body: encoded.body, headerLength: encoded.headerLength, binary };
}

/**
 * One model version's last all-binary, id-less reply header: its bytes (JSON and padding) and what
 * they were made of. Numeric outputs only (a BYTES output's binary size depends on its elements).
 */
export class ReplyHeaderMemo {
  private modelName = '';
  private modelVersion = Number.NaN;
  private names: string[] = [];
  private datatypes: string[] = [];
  private shapes: number[][] = [];
  private sizes: number[] = [];
  private header: Uint8Array | undefined;

  /** The reply body for `tensors` when its header is the remembered one; undefined otherwise. */
  encode(
    modelName: string,
    modelVersion: number,
    tensors: readonly Tensor[],
  ): EncodedInferResponse | undefined {
    const { header } = this;
    if (header === undefined || !this.matches(modelName, modelVersion, tensors)) return undefined;
    let total = header.byteLength;
    for (const t of tensors) total += (t.data as ArrayBufferView).byteLength;
    const buffer = Buffer.allocUnsafe(total);
    buffer.set(header, 0);
    let at = header.byteLength;
    for (const t of tensors) {
      const data = t.data as ArrayBufferView;
      buffer.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), at);
      at += data.byteLength;
    }
    // A plain Uint8Array view, as the codec answers (infer-body.ts allocateFrame).
    const body = new Uint8Array(buffer.buffer, buffer.byteOffset, total);
    return { body, headerLength: header.byteLength, binary: true };
  }

  /** `body` was just encoded for `tensors`, all binary, with no id: its header is remembered. */
  remember(
    modelName: string,
    modelVersion: number,
    tensors: readonly Tensor[],
    body: Uint8Array,
    headerLength: number,
  ): void {
    if (tensors.some((t) => t.datatype === 'BYTES')) return;
    this.modelName = modelName;
    this.modelVersion = modelVersion;
    this.names = tensors.map((t) => t.name);
    this.datatypes = tensors.map((t) => t.datatype);
    this.shapes = tensors.map((t) => [...t.shape]);
    this.sizes = tensors.map((t) => (t.data as ArrayBufferView).byteLength);
    this.header = body.slice(0, headerLength);
  }

  private matches(modelName: string, modelVersion: number, tensors: readonly Tensor[]): boolean {
    if (modelName !== this.modelName || modelVersion !== this.modelVersion) return false;
    if (tensors.length !== this.names.length) return false;
    for (let i = 0; i < tensors.length; i++) {
      const t = tensors[i]!;
      const shape = this.shapes[i]!;
      if (
        t.name !== this.names[i] ||
        t.datatype !== this.datatypes[i] ||
        (t.data as ArrayBufferView).byteLength !== this.sizes[i] ||
        t.shape.length !== shape.length
      ) {
        return false;
      }
      for (let d = 0; d < shape.length; d++) if (t.shape[d] !== shape[d]) return false;
    }
    return true;
  }
}
