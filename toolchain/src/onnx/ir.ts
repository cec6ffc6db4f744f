/**
 * Plain-object view of the ONNX IR messages the toolchain reads and rewrites (onnx.proto, camelCase
 * field names as protobufjs maps them). int64 fields are JS numbers; bytes fields are Uint8Array.
 * Fields the toolchain never touches (functions, training info, metadata, ...) are not typed here but
 * survive decode → encode, because the objects keep every field protobufjs decoded.
 */

/** onnx.proto TensorProto.DataType (the members the toolchain creates or reads). */
export const DataType = {
  UNDEFINED: 0,
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
} as const;
export type DataTypeCode = number;

/** onnx.proto AttributeProto.AttributeType. */
export const AttributeType = {
  UNDEFINED: 0,
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
} as const;

export interface StringEntry {
  key?: string;
  value?: string;
}

export interface OnnxTensor {
  dims?: number[];
  dataType?: DataTypeCode;
  name?: string;
  docString?: string;
  rawData?: Uint8Array;
  floatData?: number[];
  int32Data?: number[];
  int64Data?: number[];
  doubleData?: number[];
  uint64Data?: number[];
  stringData?: Uint8Array[];
  externalData?: StringEntry[];
  /** TensorProto.DataLocation: 0 DEFAULT, 1 EXTERNAL. */
  dataLocation?: number;
  segment?: unknown;
  metadataProps?: StringEntry[];
}

export interface OnnxAttribute {
  name?: string;
  type?: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: OnnxTensor;
  g?: OnnxGraph;
  floats?: number[];
  ints?: number[];
  strings?: Uint8Array[];
  tensors?: OnnxTensor[];
  graphs?: OnnxGraph[];
  refAttrName?: string;
  docString?: string;
}

export interface OnnxNode {
  input?: string[];
  output?: string[];
  name?: string;
  opType?: string;
  domain?: string;
  attribute?: OnnxAttribute[];
  docString?: string;
}

export interface TensorShapeDim {
  dimValue?: number;
  dimParam?: string;
  denotation?: string;
}

export interface OnnxType {
  tensorType?: { elemType?: DataTypeCode; shape?: { dim?: TensorShapeDim[] } };
}

export interface OnnxValueInfo {
  name?: string;
  type?: OnnxType;
  docString?: string;
}

export interface OnnxGraph {
  node?: OnnxNode[];
  name?: string;
  initializer?: OnnxTensor[];
  input?: OnnxValueInfo[];
  output?: OnnxValueInfo[];
  valueInfo?: OnnxValueInfo[];
  docString?: string;
}

export interface OperatorSetId {
  domain?: string;
  version?: number;
}

export interface OnnxModel {
  irVersion?: number;
  opsetImport?: OperatorSetId[];
  producerName?: string;
  producerVersion?: string;
  domain?: string;
  modelVersion?: number;
  docString?: string;
  graph?: OnnxGraph;
  metadataProps?: StringEntry[];
}
