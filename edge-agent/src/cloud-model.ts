/**
 * The cloud model as the edge escalates to it (wire.md "Edge → cloud HTTP"): its OIP metadata
 * (`GET /v2/models/{name}`), read once and again after a failed call, validated field by field since it
 * comes from the network, and checked against the edge's own model with the cascade rule of the fabric
 * (`tierProblems`: one input of the same sample shape, the same classes, the same labels in order).
 * A cloud model that does not fit is not called: the edge answers itself, degraded, with
 * `fallback_code` INVALID_ARG, and says why in one warning (once per reason); the metadata is read
 * again after `recheckMs`, so a fixed cloud model is picked up without restarting the edge.
 */
import {
  type Clock,
  FoglineError,
  isFoglineError,
  type OutputKind,
  TENSOR_DATATYPES,
  type TensorDatatype,
  type TensorQuantization,
  type TensorSpec,
  type TierModel,
  tierProblems,
} from '@fogline/shared';
import type { CloudClient } from './cloud-client.ts';

/** What the edge needs to call the cloud model and read its answer. */
export interface CloudModelView extends TierModel {
  readonly input: TensorSpec;
  readonly output: TensorSpec;
  readonly outputKind: OutputKind;
}

export type CloudModelState =
  | { readonly fits: true; readonly model: CloudModelView }
  | { readonly fits: false; readonly message: string };

export interface CloudModelLinkOptions {
  /** The cloud model's name. */
  readonly model: string;
  /** The edge's own model: what the cloud model must fit. */
  readonly edge: TierModel;
  readonly clock: Clock;
  readonly warn: (message: string) => void;
  /** How long a "does not fit" verdict stands before the metadata is read again. Default 30 s. */
  readonly recheckMs?: number;
}

/** A metadata read under way, and when its budget runs out (clock ms). */
interface PendingRead {
  readonly until: number;
  readonly state: Promise<CloudModelState>;
}

export class CloudModelLink {
  private state: CloudModelState | undefined;
  private checkedAt = 0;
  private readonly warned = new Set<string>();
  private pending: PendingRead | undefined;

  constructor(private readonly options: CloudModelLinkOptions) {}

  /** The verdict on the cloud model while it stands, else undefined (the metadata must be read). */
  known(): CloudModelState | undefined {
    const { state } = this;
    if (state === undefined) return undefined;
    if (!state.fits && this.options.clock.now() - this.checkedAt >= (this.options.recheckMs ?? 30_000)) {
      return undefined;
    }
    return state;
  }

  /**
   * Reads the metadata within `timeoutMs` and judges it; rejects like any cloud call when unreachable.
   * Escalations that arrive while a read is under way share it. A read started by a caller with less
   * budget (an earlier request, nearer its deadline) that runs out of it does not fail the callers
   * who still have some: they read again within what they have left. `client`: the replica asked.
   */
  refresh(client: Pick<CloudClient, 'metadata'>, timeoutMs: number): Promise<CloudModelState> {
    const until = this.options.clock.now() + timeoutMs;
    const shared = this.pending ?? this.start(client, timeoutMs, until);
    if (shared.until >= until) return shared.state;
    return shared.state.catch((err: unknown) => {
      const left = until - this.options.clock.now();
      if (!isFoglineError(err) || err.code !== 'DEADLINE_EXCEEDED' || left < 1) throw err;
      return this.refresh(client, left);
    });
  }

  private start(client: Pick<CloudClient, 'metadata'>, timeoutMs: number, until: number): PendingRead {
    const read: PendingRead = {
      until,
      state: this.read(client, timeoutMs).finally(() => {
        if (this.pending === read) this.pending = undefined;
      }),
    };
    this.pending = read;
    return read;
  }

  private async read(client: Pick<CloudClient, 'metadata'>, timeoutMs: number): Promise<CloudModelState> {
    const raw = await client.metadata(timeoutMs);
    const { edge } = this.options;
    const where = `cloud model "${this.options.model}" vs edge model "${edge.name}"`;
    let state: CloudModelState;
    try {
      const model = readCloudModel(raw, edge);
      const problems = tierProblems(edge, model, where);
      state =
        problems.length === 0
          ? { fits: true, model }
          : { fits: false, message: `${problems.join('; ')}: answering at the edge, degraded` };
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      state = {
        fits: false,
        message: `${where}: unusable metadata (${why}): answering at the edge, degraded`,
      };
    }
    if (!state.fits && !this.warned.has(state.message)) {
      this.warned.add(state.message);
      this.options.warn(state.message);
    }
    this.state = state;
    this.checkedAt = this.options.clock.now();
    return state;
  }

  /** After a failed cloud call: the metadata is read again before the next one. */
  forget(): void {
    this.state = undefined;
  }
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * OIP `$metadata_model_response` with fogline's additive `parameters` (docs/cloud.md "Model
 * metadata"). A server that does not send `parameters.labels` (a cloud before F6, or another OIP
 * server) is taken to use the edge's labels: only shapes and class counts can be checked then.
 */
export function readCloudModel(raw: unknown, edge: TierModel): CloudModelView {
  if (!isObject(raw)) throw new FoglineError('INVALID_ARG', 'model metadata is not a JSON object');
  const name = typeof raw.name === 'string' ? raw.name : '?';
  const inputs = tensorsOf(raw.inputs, 'inputs');
  const outputs = tensorsOf(raw.outputs, 'outputs');
  const parameters = isObject(raw.parameters) ? raw.parameters : {};
  const kind = parameters.output_kind ?? 'logits';
  if (kind !== 'logits' && kind !== 'probabilities') {
    throw new FoglineError('INVALID_ARG', `parameters.output_kind must be "logits" or "probabilities"`);
  }
  const labels = parameters.labels;
  if (labels !== undefined && (!Array.isArray(labels) || labels.some((l) => typeof l !== 'string'))) {
    throw new FoglineError('INVALID_ARG', 'parameters.labels must be an array of strings');
  }
  return {
    name,
    inputs,
    outputs,
    labels: (labels as string[] | undefined) ?? edge.labels,
    input: inputs[0]!,
    output: outputs[0]!,
    outputKind: kind,
  };
}

function tensorsOf(value: unknown, field: string): TensorSpec[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new FoglineError('INVALID_ARG', `${field} must be a non-empty array`);
  }
  return value.map((t, i) => {
    const at = `${field}[${i}]`;
    if (!isObject(t) || typeof t.name !== 'string') {
      throw new FoglineError('INVALID_ARG', `${at} must be an object with a name`);
    }
    if (!(TENSOR_DATATYPES as readonly unknown[]).includes(t.datatype)) {
      throw new FoglineError(
        'INVALID_ARG',
        `${at}.datatype is ${JSON.stringify(t.datatype)}; the fabric carries ${TENSOR_DATATYPES.join(', ')}`,
      );
    }
    const shape = t.shape;
    if (!Array.isArray(shape) || shape.length === 0 || shape.some((d) => !Number.isInteger(d) || d < -1)) {
      throw new FoglineError('INVALID_ARG', `${at}.shape must be an array of integers`);
    }
    const spec: TensorSpec = { name: t.name, datatype: t.datatype as TensorDatatype, shape };
    const q = isObject(t.parameters) ? t.parameters.quantization : undefined;
    return q === undefined
      ? spec
      : { ...spec, quantization: quantizationOf(q, `${at}.parameters.quantization`) };
  });
}

function quantizationOf(q: unknown, at: string): TensorQuantization {
  if (!isObject(q) || typeof q.scale !== 'number' || !(q.scale > 0) || !Number.isFinite(q.scale)) {
    throw new FoglineError('INVALID_ARG', `${at}.scale must be a number > 0`);
  }
  const zero = q.zero_point ?? 0;
  if (!Number.isInteger(zero)) throw new FoglineError('INVALID_ARG', `${at}.zero_point must be an integer`);
  return { scale: q.scale, zero_point: zero as number };
}
