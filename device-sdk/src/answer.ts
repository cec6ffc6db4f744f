/**
 * What `device.infer` resolves to, and how a model's output becomes one: the output's real values
 * (dequantized, half decoded), their class probabilities per `output_kind`
 * (`classProbabilities` of the core), the class index and its name from the device config's labels.
 * The same for the device's own output and for an edge or cloud reply.
 */
import {
  argmax,
  classProbabilities,
  type ErrorCode,
  type FabricReply,
  FoglineError,
  type OutputKind,
  type Tier,
} from '@fogline/shared';

export interface InferResult {
  /** This request's id on the device: an escalation's correlation id, an audit's `id`. */
  requestId: string;
  outputs: {
    /** Real values of the answering model's output (FP32; dequantized): logits or probabilities. */
    logits: Float32Array;
    /** Class probabilities: softmax of the logits, or the output itself (renormalised) when it holds probabilities. */
    probabilities: Float32Array;
  };
  /** What `outputs.logits` holds: the answering model's `output_kind`. */
  outputKind: OutputKind;
  /** Class index: argmax of the output. */
  label: number;
  /** `labels[label]` of the device model's config; undefined when the config names no labels. */
  labelName: string | undefined;
  /** Which tier's model produced `outputs`. */
  tier: Tier;
  /** Routing score of the answering tier (its policy's score kind). */
  score: number;
  /** device = local model time; edge/cloud as reported by the edge; total = the whole call. */
  latencyMs: { device: number; edge?: number; cloud?: number; total: number };
  /** True when a lower tier answered only because a higher one could not be used in time. */
  degraded: boolean;
  /** e.g. "digits-tiny:1", or the edge's "digits-mid:1,digits-large:1". */
  modelVersions: string;
  /**
   * Why a lower tier answered although the policy wanted a higher one: the device's own reason, or
   * the edge's (reply `fallback_code`/`fallback_message`, e.g. the cloud could not be used).
   */
  fallback?: { code: ErrorCode; message: string };
}

/** The class part of an answer; `probabilities` in double precision, for the routing score. */
export interface Classified {
  readonly outputs: InferResult['outputs'];
  readonly outputKind: OutputKind;
  readonly label: number;
  readonly labelName: string | undefined;
  readonly probabilities: Float64Array;
}

/** Classifies an output's real values; throws INVALID_ARG when "probabilities" hold a negative value. */
export function classify(
  values: Float32Array,
  outputKind: OutputKind,
  labels: readonly string[],
): Classified {
  const probabilities = classProbabilities(values, outputKind);
  const label = argmax(probabilities);
  return {
    outputs: { logits: values, probabilities: Float32Array.from(probabilities) },
    outputKind,
    label,
    labelName: labels[label],
    probabilities,
  };
}

/** The InferResult of an upper tier's reply, classified as `answer`; `latencyMs` without edge and cloud. */
export function upstreamResult(
  requestId: string,
  answer: Classified,
  reply: Extract<FabricReply, { ok: true }>,
  latency: { device: number; total: number },
): InferResult {
  const latencyMs: InferResult['latencyMs'] = { ...latency };
  if (reply.edgeMs !== undefined) latencyMs.edge = reply.edgeMs;
  if (reply.cloudMs !== undefined) latencyMs.cloud = reply.cloudMs;
  const result: InferResult = {
    requestId,
    ...answerPart(answer),
    tier: reply.tier,
    score: reply.score,
    latencyMs,
    degraded: reply.degraded,
    modelVersions: reply.modelVersions ?? '',
  };
  // A degraded answer from upstream says why the tier above it could not be used.
  if (reply.fallbackCode !== undefined) {
    result.fallback = { code: reply.fallbackCode, message: reply.fallbackMessage ?? '' };
  }
  return result;
}

/** An upper tier's output, named with this device's labels: it must score the same classes. */
export function classifyReply(
  values: Float32Array,
  kind: InferResult['outputKind'],
  classes: number,
  labels: readonly string[],
): Classified {
  if (values.length !== classes) {
    throw new FoglineError('INVALID_ARG', `it scores ${values.length} classes, the device model ${classes}`);
  }
  return classify(values, kind, labels);
}

/** The fields of an InferResult that come from the answering model's output. */
export function answerPart(
  c: Classified,
): Pick<InferResult, 'outputs' | 'outputKind' | 'label' | 'labelName'> {
  return { outputs: c.outputs, outputKind: c.outputKind, label: c.label, labelName: c.labelName };
}

/** An answer, and the device model's own output and score (for its audit). */
export interface Answered {
  readonly result: InferResult;
  readonly ownValues: Float32Array;
  readonly ownScore: number;
}
