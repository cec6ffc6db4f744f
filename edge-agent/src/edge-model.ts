/**
 * The mid model as the edge serves it: the shared model instance (`@fogline/shared/runtime`, workers
 * behind the dynamic batcher) fed one validated input row per request, with the edge's settings: a
 * pool that leaves one core to the broker, two batches per worker, and only the model's first output.
 * Any config's tensors (wire.md): the request's input is taken by position and converted to this
 * model's input datatype; the first output is read back as real values and scored per `output_kind`.
 */

import type {
  BatchingSnapshot,
  ClassAnswer,
  FabricRequest,
  ModelConfig,
  Tensor,
  TensorSpec,
} from '@fogline/shared';
import { FoglineError, readClassAnswer, servingInput } from '@fogline/shared';
import type { ModelEntry } from '@fogline/shared/model-repository';
import {
  ModelInstance,
  type ModelInstanceOptions,
  probeInCache,
  type SizingMode,
  type TensorMap,
} from '@fogline/shared/runtime';

export interface EdgeModelOptions {
  readonly entry: ModelEntry;
  /** Model version to serve; default the latest. */
  readonly version?: number;
  /** Inference worker threads; default from `sizing` (one core left to the broker either way). */
  readonly workers?: number;
  readonly intraOpThreads?: number;
  /** `probe`: size from the model's measured cost (cached in `dataDir`); default the core-count rule. */
  readonly sizing?: SizingMode;
  /** Where the probe cache lives. */
  readonly dataDir?: string;
  /** Batching overrides; defaults come from the model config's `max_batch_size` and `dynamic_batching`. */
  readonly maxBatchSize?: number;
  readonly maxQueueDelayMs?: number;
  readonly maxQueueSize?: number;
  /**
   * The model serving now, when this one loads beside it (a deployment, deployer.ts): its workers
   * start one at a time, so loading takes one core beside the serving ones at a time. Under `probe`
   * the new version is sized from its own probe when this machine has one cached (it probed this
   * version before: a rollback, a redeploy, an earlier start); else, and under `default`, it gets the
   * serving model's workers × threads (and its probe's batching): a probe now would take every core
   * for about a second beside the serving model and measure that traffic. Such a version is probed at
   * the next start, as any uncached one is.
   */
  readonly beside?: EdgeModel;
}

/**
 * Batches handed to each worker at once (`batchesPerWorker`): one running and one waiting in the
 * worker's queue, so the worker goes straight on to the next batch instead of idling while the event
 * loop is busy with the broker and the replies of the batch it just finished.
 */
export const BATCHES_PER_WORKER = 2;

export class EdgeModel {
  readonly config: ModelConfig;
  readonly input: TensorSpec;
  readonly output: TensorSpec;

  private constructor(
    private readonly instance: ModelInstance,
    /** Said instead of the instance's own line when it was sized as the serving model. */
    private readonly sizedAs?: string,
  ) {
    this.config = instance.config;
    this.input = instance.config.inputs[0]!;
    this.output = instance.config.outputs[0]!;
  }

  static async load(options: EdgeModelOptions): Promise<EdgeModel> {
    const { entry } = options;
    const { inputs, outputs } = entry.config;
    if (inputs.length !== 1 || outputs.length < 1) {
      throw new FoglineError(
        'INVALID_ARG',
        `model ${entry.name}: the edge serves models of one input and at least one output`,
      );
    }
    const version = options.version ?? entry.latestVersion;
    const serving = options.beside;
    const beside = serving && (await sizedBeside(options, serving.instance, serving.label, version));
    const instance = await ModelInstance.load(entry, version, {
      tier: 'edge',
      sizing: options.sizing,
      probeDir: options.dataDir,
      workers: options.workers,
      intraOpThreads: options.intraOpThreads,
      maxBatchSize: options.maxBatchSize,
      maxQueueDelayMs: options.maxQueueDelayMs,
      maxQueueSize: options.maxQueueSize,
      ...beside?.options,
      batchesPerWorker: BATCHES_PER_WORKER,
      warmupBatchSizes: [1],
      outputs: [outputs[0]!.name],
    });
    return new EdgeModel(instance, beside?.line);
  }

  get name(): string {
    return this.instance.name;
  }

  /** Inference workers × onnxruntime intra-op threads each, as loaded. */
  get sizing(): { readonly workers: number; readonly intraOpThreads: number } {
    return { workers: this.instance.engine.workers, intraOpThreads: this.instance.engine.intraOpThreads };
  }

  get version(): number {
    return this.instance.version;
  }

  /** How the model was sized and why (one log line). */
  get sizingLine(): string {
    return this.sizedAs ?? this.instance.sizingLine;
  }

  /** `name:version`, as in a reply's `model_versions`. */
  get label(): string {
    return `${this.name}:${this.version}`;
  }

  get queueDepth(): number {
    return this.instance.batcher.queueDepth;
  }

  /** The batcher's counters since load (Triton's statistics: executions, inferences, batch sizes). */
  get batching(): BatchingSnapshot {
    return this.instance.batcher.stats.snapshot();
  }

  /** Batches handed to the workers and not yet answered (at most workers × BATCHES_PER_WORKER). */
  get batchesInFlight(): number {
    return this.instance.batcher.inFlightBatches;
  }

  /**
   * The request's one input as this model consumes it (by position, converted per wire.md), checked:
   * sample shape, datatype, finite values. Throws INVALID_ARG naming what is wrong.
   */
  validate(request: Pick<FabricRequest, 'tensors' | 'inputQuantization'>): Tensor {
    return servingInput(request, this.input);
  }

  /**
   * The answer to one validated input (its class scores as real values, and their probabilities);
   * UNAVAILABLE when the queue is full.
   */
  infer(input: Tensor): Promise<ClassAnswer> {
    const data = input.data as ArrayBufferView;
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    // One reader for every request (no async frame or closure per request while it is in flight).
    return this.instance.infer({ batch: 1, inputs: [bytes] }).then(this.readAnswer);
  }

  private readonly readAnswer = (out: TensorMap): ClassAnswer =>
    readClassAnswer(out[this.output.name]?.data, this.output, this.config.output_kind, this.name);

  /** One request of zeros, through the batcher as a device's would go (a deployment's warm-up). */
  async warmUp(): Promise<void> {
    const shape = [1, ...this.input.shape.slice(1)];
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    await this.infer(this.validate({ tensors: [{ name: this.input.name, datatype: 'FP32', shape, data }] }));
  }

  /** Finishes queued and running batches, refuses new ones, then frees the workers. */
  close(): Promise<void> {
    return this.instance.retire();
  }
}

/**
 * How a version loaded beside `serving` is sized (EdgeModelOptions.beside): from its own probe when
 * `probe` sizing finds one cached for it, else as `serving` is, with the line that says so.
 */
async function sizedBeside(
  options: EdgeModelOptions,
  serving: ModelInstance,
  servingLabel: string,
  version: number,
): Promise<{ options: ModelInstanceOptions; line?: string }> {
  const { entry, dataDir } = options;
  const probed =
    options.sizing === 'probe' &&
    dataDir !== undefined &&
    (await probeInCache(dataDir, entry.modelPath(version), entry.config)) !== undefined;
  if (probed) return { options: { oneByOne: true } };
  const { workers, intraOpThreads } = serving.engine;
  const b = serving.batching;
  const probedBatching = b.adaptiveQueueDelay
    ? {
        preferredBatchSizes: b.preferredBatchSizes,
        maxQueueDelayMs: b.maxQueueDelayMs,
        adaptiveQueueDelay: true,
      }
    : {};
  const why =
    options.sizing === 'probe'
      ? 'no probe of this version on this machine yet (not probed beside the serving model; probed at the next start)'
      : 'sizing default';
  return {
    options: { sizing: 'default', workers, intraOpThreads, oneByOne: true, ...probedBatching },
    line: `${entry.name}:${version}: edge sizing as the serving ${servingLabel}: ${workers} worker(s) × ${intraOpThreads} thread(s) (${why})`,
  };
}
