/**
 * Every decoder that reads outside input, as a fuzz target: valid seeds (made by the real encoders)
 * and one `decode` that runs the decoder the way its tier does (bytes → value or typed refusal).
 * A target's `decode` returns the outcome's name; anything it throws other than a FoglineError (or a
 * RequestRejection carrying one) is a crash.
 */
import {
  decodeInferBody,
  decodeInferMessage,
  encodeInferMessage,
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
} from '@fogline/shared';
import { decodeDesiredState } from '../../edge-agent/src/desired-state.ts';
import {
  codecBodySeeds,
  deployment,
  deploymentReport,
  desiredSeeds,
  json,
  jsonBodySeeds,
  policySeeds,
  replySeeds,
  reportSeeds,
  requestSeeds,
  routing,
  sampleTensors,
  uploadSeeds,
} from './decoder-seeds.ts';

export interface DecoderTarget {
  readonly name: string;
  readonly seeds: readonly Uint8Array[];
  /** Runs the decoder; returns 'value…' for a value, else the refusal's name. */
  decode(bytes: Uint8Array): string;
}

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
