/**
 * Every decoder that reads outside input, as a fuzz target: valid seeds (made by the real encoders)
 * and one `decode` that runs the decoder the way its tier does (bytes → value or typed refusal).
 * A target's `decode` returns the outcome's name; anything it throws other than a FoglineError (or a
 * RequestRejection carrying one) is a crash.
 */
import {
  type AuditBody,
  auditReport,
  decodeInferBody,
  decodeInferMessage,
  encodeAnswer,
  encodeAuditUpload,
  encodeDeviceReport,
  encodeErrorReply,
  encodeFabricRequest,
  encodeInferBody,
  encodeInferMessage,
  encodePolicyMessage,
  FoglineError,
  RequestRejection,
  readAuditBody,
  readAuditUpload,
  readDeploymentDirective,
  readDeploymentReport,
  readDeviceReport,
  readFabricReply,
  readFabricRequest,
  readHistogramReport,
  readPolicyMessage,
  readRoutingDirective,
  type Tensor,
} from '@fogline/shared';
import { decodeDesiredState } from '../../edge-agent/src/desired-state.ts';

export interface DecoderTarget {
  readonly name: string;
  readonly seeds: readonly Uint8Array[];
  /** Runs the decoder; returns 'value…' for a value, else the refusal's name. */
  decode(bytes: Uint8Array): string;
}

const utf8 = new TextEncoder();
const json = (v: unknown) => utf8.encode(JSON.stringify(v));

/** JSON.parse as a tier's boundary does it: a refusal, not a crash. */
function parseJson(bytes: Uint8Array): { ok: true; raw: unknown } | { ok: false } {
  try {
    return { ok: true, raw: JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) };
  } catch {
    return { ok: false };
  }
}

/** Runs `run`, mapping a typed refusal to its code; rethrows anything else (a crash). */
function typed(run: () => string): string {
  try {
    return run();
  } catch (err) {
    if (err instanceof FoglineError) return err.code;
    if (err instanceof RequestRejection && err.error instanceof FoglineError)
      return `rejected ${err.error.code}`;
    throw err;
  }
}

const image = Float32Array.from({ length: 784 }, (_, i) => ((i * 37) % 255) / 255);
const sampleTensors: Tensor[][] = [
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

const codecBodySeeds = sampleTensors.flatMap((tensors) => {
  const binary = encodeInferBody({ id: 'r-1', parameters: { binary_data_output: true } }, tensors);
  const mixed = encodeInferBody({ id: 'r-2' }, tensors, { binary: (t) => t.name !== 'a' });
  return [
    withHeaderLength(binary.body, binary.headerLength),
    withHeaderLength(mixed.body, mixed.headerLength),
  ];
});

const jsonBodySeeds = [
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

const requestSeeds = [
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
const replySeeds = [
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
const reportSeeds = [
  encodeDeviceReport(auditReport(audit)),
  encodeDeviceReport(auditReport({ ...audit, rate: 1, source: 'feedback', label: 2 })),
  encodeDeviceReport({ kind: 'histogram', body: histogram }),
];

const edgeAnswer = { model: 'digits-small:1', outputs: [0, 1, 2, 3], score: 0.5 };
const uploadSeeds = [
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

const policySeeds = [
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
];

const routing = {
  id: 'c-1765000000000',
  reason: 'drift alarm: escalating more',
  device: { score: 'margin', threshold: 0.58 },
  edge: { score: 'margin', threshold: 0.61 },
};
const sha256 = 'ab'.repeat(32);
const deployment = {
  id: 'd-1',
  model: 'digits-mid',
  version: 3,
  sha256,
  bytes: 1000,
  gate: { shadowMs: 60_000, minPaired: 40, maxDrop: 0.05 },
  device: { model: 'digits-tiny', version: 2, sha256, bytes: 99 },
};
const deploymentReport = {
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
const desiredSeeds = [
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

const fromJson = (read: (raw: unknown) => { ok: boolean }) => (bytes: Uint8Array) => {
  const parsed = parseJson(bytes);
  if (!parsed.ok) return 'not-json';
  return read(parsed.raw).ok ? 'value' : 'refused';
};

export const DECODER_TARGETS: readonly DecoderTarget[] = [
  {
    name: 'codec infer message (MQTT frame)',
    seeds: [...requestSeeds, ...replySeeds, ...sampleTensors.map((t) => encodeInferMessage({ id: 'm' }, t))],
    decode: (bytes) => typed(() => `value ${decodeInferMessage(bytes).kind}`),
  },
  {
    name: 'OIP binary infer body (Inference-Header-Content-Length)',
    seeds: codecBodySeeds,
    decode: (bytes) =>
      typed(() => {
        if (bytes.length < 4) return 'short';
        const headerLength = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true);
        return `value ${decodeInferBody(bytes.subarray(4), headerLength).kind}`;
      }),
  },
  {
    name: 'OIP JSON infer body',
    seeds: jsonBodySeeds,
    decode: (bytes) => typed(() => `value ${decodeInferBody(bytes, bytes.length).kind}`),
  },
  {
    name: 'fabric request',
    seeds: requestSeeds,
    decode: (bytes) =>
      typed(() => {
        readFabricRequest(bytes, { defaultDeadlineMs: 1000, maxDeadlineMs: 30_000 });
        return 'value';
      }),
  },
  {
    name: 'fabric reply and error reply',
    seeds: replySeeds,
    decode: (bytes) => {
      const reply = readFabricReply(bytes);
      if (reply === undefined) return 'unaddressed';
      if (reply.ok) return 'value';
      return reply.message.startsWith('malformed reply') ? 'refused' : `value error ${reply.code}`;
    },
  },
  {
    name: 'device reports (audit, feedback, histogram)',
    seeds: reportSeeds,
    decode: (bytes) => {
      const reading = readDeviceReport(bytes);
      if (!reading.ok) return reading.reason;
      const body = reading.report.body;
      const ok = reading.report.kind === 'histogram' ? readHistogramReport(body).ok : readAuditBody(body).ok;
      return ok ? 'value' : 'refused';
    },
  },
  { name: 'audit upload', seeds: uploadSeeds, decode: fromJson(readAuditUpload) },
  {
    name: 'policy message',
    seeds: policySeeds,
    decode: (bytes) => {
      const reading = readPolicyMessage(bytes, { edge: 'edge-a', model: 'digits-tiny:1', afterVersion: 2 });
      return reading.ok ? 'value' : reading.code;
    },
  },
  { name: 'routing directive', seeds: [json(routing)], decode: fromJson((raw) => readRoutingDirective(raw)) },
  {
    name: 'deployment blocks (directive, report)',
    seeds: [json(deployment), json(deploymentReport)],
    decode: (bytes) => {
      const parsed = parseJson(bytes);
      if (!parsed.ok) return 'not-json';
      const a = readDeploymentDirective(parsed.raw).ok;
      const b = readDeploymentReport(parsed.raw).ok;
      return a || b ? 'value' : 'refused';
    },
  },
  {
    name: 'edge desired state',
    seeds: desiredSeeds,
    decode: (bytes) =>
      typed(() => {
        const state = decodeDesiredState(bytes);
        // The edge reads the blocks the state carries with their own readers.
        if (state.routing !== undefined) readRoutingDirective(state.routing);
        const deploymentBlock = (state as { deployment?: unknown }).deployment;
        if (deploymentBlock !== undefined) readDeploymentDirective(deploymentBlock);
        return 'value';
      }),
  },
];
