/**
 * OIP inference response (`$inference_response`) for one request: the requested outputs in the
 * order asked, the request id echoed, each output binary or JSON as the Triton binary extension
 * says (`binary_data` per output, else `binary_data_output` per request, else JSON).
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
): EncodedInferResponse {
  const header: InferResponseHeader = { model_name: modelName, model_version: String(modelVersion) };
  if (request.id !== undefined) header.id = request.id;
  let binary = false;
  const tensors = plan.outputs.map((name): Tensor => {
    const out = outputs[name]!;
    // The output's config datatype: onnxruntime returned its typed array (FP16 as half bits, which
    // JSON cannot carry: the codec always sends FP16 binary, as Triton does).
    const datatype = config.outputs.find((o) => o.name === name)?.datatype ?? 'FP32';
    if (wantsBinaryOutput(request, name) || datatype === 'FP16') binary = true;
    return { name, datatype, shape: [...out.dims], data: out.data } as Tensor;
  });
  const { body, headerLength } = encodeInferBody(header, tensors, {
    binary: binary ? (t) => wantsBinaryOutput(request, t.name) || t.datatype === 'FP16' : false,
  });
  // All JSON: no binary data follows the header, so the codec adds no padding: a clean JSON body.
  return { body, headerLength, binary };
}
