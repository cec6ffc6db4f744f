/** One tensor codec for HTTP (OIP binary body) and MQTT (length-prefixed frame). */
export {
  type DecodedInfer,
  decodeInferBody,
  type EncodedInferBody,
  type EncodeOptions,
  encodeInferBody,
  wantsBinaryOutput,
} from './infer-body.ts';
export {
  decodeInferMessage,
  encodeErrorMessage,
  encodeInferMessage,
  errorFromReply,
  frameInferMessage,
} from './infer-message.ts';
export { type CodecLimits, DEFAULT_CODEC_LIMITS, elementCount } from './limits.ts';
export { bytesFromStrings, findTensor, stringsFromBytes } from './tensor-access.ts';
