/**
 * ONNX model bytes ⇄ plain objects, through protobufjs and the onnx.proto next to this file.
 * decodeModel validates the outer shape (an ONNX file always names an IR version, an opset and a
 * graph) so that "not an ONNX file" is reported as such rather than as a crash further in.
 */
import { readFileSync } from 'node:fs';
import { FoglineError } from '@fogline/shared';
import protobuf from 'protobufjs';
import type { OnnxModel } from './ir.ts';

let modelType: protobuf.Type | undefined;

function modelProto(): protobuf.Type {
  if (modelType) return modelType;
  const text = readFileSync(new URL('./onnx.proto', import.meta.url), 'utf8');
  modelType = protobuf.parse(text, { keepCase: false }).root.lookupType('onnx.ModelProto');
  return modelType;
}

const TO_OBJECT: protobuf.IConversionOptions = {
  longs: Number,
  enums: Number,
  arrays: true,
  defaults: false,
};

/** Decodes an ONNX ModelProto; throws INVALID_ARG naming the problem when the bytes are not one. */
export function decodeModel(bytes: Uint8Array, source = 'input'): OnnxModel {
  const type = modelProto();
  let message: protobuf.Message;
  try {
    message = type.decode(bytes);
  } catch (cause) {
    throw new FoglineError('INVALID_ARG', `${source} is not an ONNX file (protobuf decode failed)`, {
      cause,
    });
  }
  const model = type.toObject(message, TO_OBJECT) as OnnxModel;
  // onnx.proto ModelProto: ir_version "MUST be present", opset_import "MUST have at least one entry".
  if (!model.irVersion || !model.graph || (model.opsetImport ?? []).length === 0) {
    throw new FoglineError(
      'INVALID_ARG',
      `${source} is not an ONNX file (no ir_version, opset_import or graph in the ModelProto)`,
    );
  }
  return model;
}

/** Encodes a ModelProto; the object may carry fields beyond the typed ones (they are written too). */
export function encodeModel(model: OnnxModel): Uint8Array {
  const type = modelProto();
  const problem = type.verify(model);
  if (problem) throw new FoglineError('INTERNAL', `rewritten model is not a valid ModelProto: ${problem}`);
  return type.encode(model).finish();
}
