/**
 * Valid seeds for the fuzz targets (decoder-targets.ts), each made by the real encoder: what the
 * mutation fuzzer and fast-check start from.
 */
import {
  type AuditBody,
  auditReport,
  encodeAnswer,
  encodeAuditUpload,
  encodeDeviceReport,
  encodeErrorReply,
  encodeFabricRequest,
  encodeInferBody,
  encodePolicyMessage,
  FoglineError,
  type Tensor,
} from '@fogline/shared';

const utf8 = new TextEncoder();
export const json = (v: unknown) => utf8.encode(JSON.stringify(v));

const image = Float32Array.from({ length: 784 }, (_, i) => ((i * 37) % 255) / 255);
export const sampleTensors: Tensor[][] = [
  [{ name: 'image', datatype: 'FP32', shape: [1, 1, 28, 28], data: image }],
  [
    { name: 'a', datatype: 'INT64', shape: [2], data: BigInt64Array.from([1n, -2n]) },
    { name: 'b', datatype: 'BYTES', shape: [2], data: [utf8.encode('hello'), utf8.encode('')] },
    { name: 'c', datatype: 'BOOL', shape: [3], data: Uint8Array.from([1, 0, 1]) },
  ],
  [
    { name: 'h', datatype: 'FP16', shape: [2, 2], data: Uint16Array.from([1, 2, 3, 4]) },
    { name: 'u', datatype: 'UINT8', shape: [4], data: Uint8Array.from([0, 1, 254, 255]) },
  ],
];

/** An infer body's header length as a u32 prefix, so length-field lies reach Inference-Header-Content-Length. */
function withHeaderLength(body: Uint8Array, headerLength: number): Uint8Array {
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, headerLength, true);
  out.set(body, 4);
  return out;
}

export const codecBodySeeds = sampleTensors.flatMap((tensors) => {
  const binary = encodeInferBody({ id: 'r-1', parameters: { binary_data_output: true } }, tensors);
  const mixed = encodeInferBody({ id: 'r-2' }, tensors, { binary: (t) => t.name !== 'a' });
  return [
    withHeaderLength(binary.body, binary.headerLength),
    withHeaderLength(mixed.body, mixed.headerLength),
  ];
});

export const jsonBodySeeds = [
  json({
    id: 'j-1',
    inputs: [
      { name: 'image', shape: [1, 1, 28, 28], datatype: 'FP32', data: Array.from(image.subarray(0, 784)) },
    ],
  }),
  json({
    inputs: [
      { name: 'a', shape: [2], datatype: 'INT32', data: [1, -2] },
      { name: 'b', shape: [1], datatype: 'BYTES', data: ['x'] },
      { name: 'c', shape: [2], datatype: 'BOOL', data: [true, false] },
    ],
    outputs: [{ name: 'logits', parameters: { binary_data: true } }],
  }),
  json({ model_name: 'm', outputs: [{ name: 'logits', shape: [1, 2], datatype: 'FP32', data: [0.5, 1] }] }),
];

export const requestSeeds = [
  encodeFabricRequest({
    id: 'q-1',
    replyTo: 'fogline/v1/device/dev-1/reply',
    deadlineMs: 2000,
    deviceScore: 0.3,
    input: sampleTensors[0]![0]!,
  }),
  encodeFabricRequest({
    id: 'q-2',
    replyTo: 'fogline/v1/device/dev-2/reply',
    deadlineMs: 100,
    deviceScore: 0.9,
    input: { name: 'q', datatype: 'INT8', shape: [1, 4], data: Int8Array.from([1, -1, 2, -2]) },
    inputQuantization: { scale: 0.5, zero_point: 3 },
  }),
];

const logits: Tensor = {
  name: 'logits',
  datatype: 'FP32',
  shape: [1, 4],
  data: Float32Array.from([0.1, 2, -1, 0]),
};
export const replySeeds = [
  encodeAnswer({
    id: 'q-1',
    modelName: 'digits-small',
    modelVersion: '1',
    outputs: [logits],
    parameters: { tier: 'edge', degraded: false, score: 0.8, model_versions: 'digits-small:1', edge_ms: 1.5 },
  }),
  encodeAnswer({
    id: 'q-2',
    modelName: 'digits-small',
    modelVersion: '1',
    outputs: [logits],
    parameters: {
      tier: 'edge',
      degraded: true,
      score: 0.2,
      model_versions: 'digits-small:1',
      fallback_code: 'UNAVAILABLE',
      fallback_message: 'cloud down',
      output_kind: 'probabilities',
    },
  }),
  encodeErrorReply(new FoglineError('RATE_LIMITED', 'slow down', { details: { retryAfterMs: 250 } }), 'q-3'),
  encodeErrorReply(new FoglineError('DEADLINE_EXCEEDED', 'too late'), 'q-4'),
];

const audit: AuditBody = {
  id: 'dev-1-7',
  time: 1_765_000_000_000,
  rate: 0.02,
  model: 'digits-tiny:1',
  input: { name: 'input', datatype: 'FP32', shape: [1, 4], data: Float32Array.from([0, 0.5, 1, 0.25]) },
  inputQuantization: { scale: 0.1, zero_point: 0 },
  deviceOutputs: [0.1, -2.5, 3, 0],
  deviceScore: 0.42,
  tier: 'edge',
  answerOutputs: [0, 0, 9, 1],
  answerModelVersions: 'digits-tiny:1,digits-small:1',
};
const histogram = {
  model: 'digits-tiny:1',
  score: 'margin',
  bins: [0, 0.25, 0.5, 1],
  counts: [3, 0, 5],
  count: 8,
  window_start_ms: 1_765_000_000_000,
  window_end_ms: 1_765_000_060_000,
};
export const reportSeeds = [
  encodeDeviceReport(auditReport(audit)),
  encodeDeviceReport(auditReport({ ...audit, rate: 1, source: 'feedback', label: 2 })),
  encodeDeviceReport({ kind: 'histogram', body: histogram }),
];

const edgeAnswer = { model: 'digits-small:1', outputs: [0, 1, 2, 3], score: 0.5 };
export const uploadSeeds = [
  utf8.encode(
    encodeAuditUpload({
      cloudModel: 'digits-large',
      keepInputs: true,
      audits: [
        { deviceId: 'dev-1', audit, edge: edgeAnswer, shadow: { ...edgeAnswer, model: 'digits-small:0' } },
        { deviceId: 'dev-2', audit: { ...audit, source: 'feedback', label: 1 }, edge: null },
      ],
    }),
  ),
];

export const policySeeds = [
  encodePolicyMessage({
    edge: 'edge-a',
    version: 3,
    model: 'digits-tiny:1',
    policy: { score: 'margin', threshold: 0.5 },
  }),
  encodePolicyMessage({
    edge: 'edge-a',
    version: 4,
    model: 'digits-tiny:1',
    policy: { score: 'entropy', threshold: 0.9 },
    audit_rate: 0.1,
  }),
  // An audit rate alone (a drift alarm's, the devices keep their own routing).
  encodePolicyMessage({ edge: 'edge-a', version: 5, model: 'digits-tiny:1', audit_rate: 0.2 }),
];

export const routing = {
  id: 'c-1765000000000',
  reason: 'drift alarm: escalating more',
  device: { score: 'margin', threshold: 0.58 },
  edge: { score: 'margin', threshold: 0.61 },
};
const sha256 = 'ab'.repeat(32);
export const deployment = {
  id: 'd-1',
  model: 'digits-mid',
  version: 3,
  sha256,
  bytes: 1000,
  gate: { shadowMs: 60_000, minPaired: 40, maxDrop: 0.05 },
  device: { model: 'digits-tiny', version: 2, sha256, bytes: 99 },
};
export const deploymentReport = {
  id: 'd-1',
  model: 'digits-mid',
  version: 3,
  state: 'warming',
  receivedBytes: 10,
  totalBytes: 1000,
  previous: { model: 'digits-mid', version: 2 },
  failure: { kind: 'checksum', message: 'sha256 differs' },
  gate: { paired: 4, newCorrect: 3, oldCorrect: 2 },
};
export const desiredSeeds = [
  json({
    version: 7,
    devices: [
      { id: 'dev-1', tokenHash: 'scrypt$16384$8$1$c2FsdA$aGFzaA' },
      { id: 'dev-2', tokenHash: 'scrypt$16384$8$1$c2FsdDI$aGFzaDI' },
    ],
    models: { 'digits-tiny': 1, 'digits-small': 2 },
    routing,
    deployment,
  }),
];
