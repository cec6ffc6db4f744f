/**
 * The cloud's end of audits (docs/cloud.md "Audits"): an edge's validated upload is queued (bounded:
 * past it the audits are dropped and counted, the edge is told how many), then, only while the model
 * has no request of its own pending, the reference model — the same instance that answers inference —
 * runs once on the inputs of up to an upload's worth of queued audits, and their records,
 * each with every tier's answer, are stored in one insert. Inputs are stored only when both the cloud (`inputs: 'keep'`) and the edge allow it, and
 * only until `inputTtlMs`; records are pruned to their count and age bounds on a timer.
 *
 * Feedback (an audit body with `source: 'feedback'` and the application's label) is joined to the
 * records of its request (edge, device, request id) when there are some — the request was audited,
 * or labelled before: one record per request — and otherwise stored as a record of its own with
 * `source: 'feedback'`, the reference computed as for an audit.
 *
 * A uniform audit (not feedback) that carries a `shadow` answer (the previous edge model's, during a deployment's accuracy
 * gate) is also handed, once stored, to `onShadowPair` with both labels and the reference.
 */
import {
  type AuditUpload,
  type AuditUploadItem,
  argmax,
  auditWire,
  type ClassAnswer,
  FoglineError,
  fromUnknown,
  isFeedback,
  MAX_AUDIT_UPLOAD,
  readClassAnswer,
  scoreOf,
  servingInput,
} from '@fogline/shared';
import type { ModelInstance } from '../serving/model-instance.ts';
import type { AuditRecordRepository, AuditRetention, NewAuditRecord } from '../store/index.ts';

export interface AuditSettings {
  /** Store raw inputs ('keep', for `inputTtlMs`) or never ('drop'). */
  readonly inputs: 'keep' | 'drop';
  readonly inputTtlMs: number;
  readonly retention: AuditRetention;
  /** Audits waiting for the reference model; past it an upload's surplus is dropped. */
  readonly maxQueued: number;
  /** How often records are pruned to `retention`. */
  readonly pruneIntervalMs: number;
}

export const DEFAULT_AUDIT_SETTINGS: AuditSettings = Object.freeze({
  inputs: 'keep',
  inputTtlMs: 30 * 86_400_000,
  retention: Object.freeze({ maxRecords: 1_000_000, maxAgeMs: 90 * 86_400_000 }),
  maxQueued: 1_024,
  pruneIntervalMs: 60_000,
});

export interface AuditIntakeCounts {
  /** Audits queued from uploads, dropped because the queue was full, stored, and failed. */
  readonly accepted: number;
  readonly dropped: number;
  readonly stored: number;
  /** The reference could not be computed or stored (e.g. the input does not fit the model). */
  readonly failed: number;
  /** Feedback labels joined to a stored record of their request (no record of their own). */
  readonly feedbackJoined: number;
  readonly queued: number;
}

export interface AuditIntakeOptions {
  readonly records: AuditRecordRepository;
  /** The serving instance of a model, as inference resolves it (NOT_FOUND when it is not served). */
  readonly resolveModel: (name: string) => ModelInstance;
  readonly settings: AuditSettings;
  /** How long the worker waits before looking again when the model is busy. */
  readonly idlePollMs?: number;
  readonly log: (err: FoglineError) => void;
  /** A stored audit with a shadow answer: new (edge) and old (shadow) labels and the reference. */
  readonly onShadowPair?: (edgeId: string, pair: AuditShadowPair) => void;
  /** Records of `edgeId` were just stored (the controller may want them before its next round). */
  readonly onStored?: (edgeId: string, count: number) => void;
}

/** The deployed and previous edge models' answers on one audited input, and the reference. */
export interface AuditShadowPair {
  readonly edgeModel: string;
  readonly shadowModel: string;
  readonly edgeLabel: number;
  readonly shadowLabel: number;
  /** The cloud's answer (the reference). */
  readonly referenceLabel: number;
}

interface Queued {
  readonly edgeId: string;
  readonly cloudModel: string;
  readonly keepInputs: boolean;
  readonly item: AuditUploadItem;
  /** Feedback only: its label found no record of its request to join. */
  unjoined?: true;
}

export class AuditIntake {
  readonly #options: AuditIntakeOptions;
  readonly #queue: Queued[] = [];
  readonly #pruneTimer: ReturnType<typeof setInterval>;
  #working: Promise<void> | undefined;
  #closed = false;
  #counts = { accepted: 0, dropped: 0, stored: 0, failed: 0, feedbackJoined: 0 };

  constructor(options: AuditIntakeOptions) {
    this.#options = options;
    this.#pruneTimer = setInterval(() => void this.prune(), options.settings.pruneIntervalMs);
    this.#pruneTimer.unref?.();
  }

  counts(): AuditIntakeCounts {
    return { ...this.#counts, queued: this.#queue.length };
  }

  /**
   * Queues a validated upload of `edgeId`; returns how many audits were accepted and dropped. NOT_FOUND
   * (nothing queued) when its cloud model is not served here.
   */
  accept(edgeId: string, upload: AuditUpload): { accepted: number; dropped: number } {
    if (this.#closed) throw new FoglineError('UNAVAILABLE', 'the cloud is stopping');
    this.#options.resolveModel(upload.cloudModel);
    const room = Math.max(0, this.#options.settings.maxQueued - this.#queue.length);
    const taken = upload.audits.slice(0, room);
    for (const item of taken) {
      this.#queue.push({ edgeId, cloudModel: upload.cloudModel, keepInputs: upload.keepInputs, item });
    }
    const dropped = upload.audits.length - taken.length;
    this.#counts.accepted += taken.length;
    this.#counts.dropped += dropped;
    this.#working ??= this.#work().finally(() => {
      this.#working = undefined;
    });
    return { accepted: taken.length, dropped };
  }

  /** Applies the retention bounds now; failures are logged. */
  async prune(): Promise<void> {
    try {
      await this.#options.records.prune(this.#options.settings.retention);
    } catch (err) {
      this.#options.log(fromUnknown(err));
    }
  }

  /** Stops taking uploads and waits for the audit being processed (queued ones are dropped). */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#pruneTimer);
    this.#counts.dropped += this.#queue.length;
    this.#queue.length = 0;
    await this.#working;
  }

  async #work(): Promise<void> {
    const pollMs = this.#options.idlePollMs ?? 10;
    while (this.#queue.length > 0 && !this.#closed) {
      const next = this.#queue[0]!;
      let instance: ModelInstance;
      try {
        instance = this.#options.resolveModel(next.cloudModel);
      } catch (err) {
        this.#queue.shift();
        this.#fail(err);
        continue;
      }
      if (isFeedback(next.item.audit) && !next.unjoined) {
        if (await this.#joinFeedback(next)) continue;
      }
      // Lowest priority: only while the model has nothing of its own to do.
      if (instance.batcher.pendingCount > 0) {
        await new Promise((r) => setTimeout(r, pollMs));
        continue;
      }
      await this.#store(instance, this.#takeBatch(instance));
    }
  }

  /**
   * The head of the queue and the audits after it for the same model that need only the reference
   * (not feedback still to join), up to an upload's size and the model's largest batch: one pass of
   * the model, short enough that a request arriving meanwhile waits no longer than behind one batch.
   */
  #takeBatch(instance: ModelInstance): Queued[] {
    const max = Math.max(1, Math.min(MAX_AUDIT_UPLOAD, instance.batching.maxBatchSize));
    const head = this.#queue[0]!;
    let n = 1;
    while (n < Math.min(max, this.#queue.length)) {
      const q = this.#queue[n]!;
      if (q.cloudModel !== head.cloudModel || (isFeedback(q.item.audit) && !q.unjoined)) break;
      n++;
    }
    return this.#queue.splice(0, n);
  }

  /** One reference pass over `batch` and one insert of its records; an audit that fails fails alone. */
  async #store(instance: ModelInstance, batch: readonly Queued[]): Promise<void> {
    const inputs: { queued: Queued; bytes: Uint8Array }[] = [];
    for (const queued of batch) {
      try {
        inputs.push({ queued, bytes: this.#inputBytes(instance, queued.item.audit) });
      } catch (err) {
        this.#fail(err);
      }
    }
    if (inputs.length === 0) return;
    try {
      const answers = await this.#reference(
        instance,
        inputs.map((i) => i.bytes),
      );
      const records: { queued: Queued; record: NewAuditRecord }[] = [];
      inputs.forEach(({ queued }, k) => {
        try {
          records.push({ queued, record: this.#record(instance, queued, answers[k]!) });
        } catch (err) {
          this.#fail(err);
        }
      });
      if (records.length === 0) return;
      await this.#options.records.insert(records.map((r) => r.record));
      this.#counts.stored += records.length;
      const byEdge = new Map<string, number>();
      for (const { queued, record } of records) {
        this.#pair(queued, record);
        byEdge.set(queued.edgeId, (byEdge.get(queued.edgeId) ?? 0) + 1);
      }
      for (const [edgeId, count] of byEdge) this.#options.onStored?.(edgeId, count);
    } catch (err) {
      for (const _ of inputs) this.#fail(err);
    }
  }

  /** Joins a feedback label to its request's records; true when done with it (joined, or failed). */
  async #joinFeedback(next: Queued): Promise<boolean> {
    const { edgeId, item } = next;
    const { audit } = item;
    if (!isFeedback(audit)) return false;
    try {
      const key = { edgeId, deviceId: item.deviceId, requestId: audit.id };
      const joined = await this.#options.records.addFeedback(key, audit.label);
      if (joined === 0) {
        next.unjoined = true;
        return false;
      }
      this.#counts.feedbackJoined++;
    } catch (err) {
      this.#fail(err);
    }
    this.#queue.shift();
    return true;
  }

  #pair({ edgeId, item }: Queued, record: NewAuditRecord): void {
    const { shadow } = item;
    // Feedback records are a biased sample: never in the gate (issue 13 item 6).
    if (!shadow || !record.edge || record.source !== 'audit' || !this.#options.onShadowPair) return;
    this.#options.onShadowPair(edgeId, {
      edgeModel: record.edge.model,
      shadowModel: shadow.model,
      edgeLabel: record.edge.label,
      shadowLabel: argmax(shadow.outputs),
      referenceLabel: record.cloud.label,
    });
  }

  #fail(err: unknown): void {
    this.#counts.failed++;
    this.#options.log(fromUnknown(err));
  }

  /** One audit's input as the model's one input takes it (INVALID_ARG when it does not fit). */
  #inputBytes(instance: ModelInstance, audit: AuditUploadItem['audit']): Uint8Array {
    const { config } = instance;
    if (!config.outputs[0] || config.inputs.length !== 1) {
      throw new FoglineError('INTERNAL', `model "${instance.name}" does not take one input to one output`);
    }
    const input = servingInput(
      {
        tensors: [audit.input],
        ...(audit.inputQuantization && { inputQuantization: audit.inputQuantization }),
      },
      config.inputs[0]!,
    );
    const data = input.data as ArrayBufferView;
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }

  /** The model's answers on `inputs` (one sample each), in one pass. */
  async #reference(instance: ModelInstance, inputs: readonly Uint8Array[]): Promise<ClassAnswer[]> {
    const { config } = instance;
    const output = config.outputs[0]!;
    const joined = new Uint8Array(inputs.reduce((n, b) => n + b.byteLength, 0));
    let at = 0;
    for (const b of inputs) {
      joined.set(b, at);
      at += b.byteLength;
    }
    const out = await instance.infer({ batch: inputs.length, inputs: [joined] });
    const data = out[output.name]?.data;
    const per = data ? data.length / inputs.length : 0;
    return inputs.map((_, k) =>
      readClassAnswer(data?.subarray(k * per, (k + 1) * per), output, config.output_kind, instance.name),
    );
  }

  #record(
    instance: ModelInstance,
    { edgeId, keepInputs, item }: Queued,
    answer: ClassAnswer,
  ): NewAuditRecord {
    const { audit, edge, deviceId } = item;
    const { config } = instance;
    if (answer.values.length !== audit.deviceOutputs.length) {
      throw new FoglineError(
        'INVALID_ARG',
        `audit ${audit.id} of ${deviceId}: the device scores ${audit.deviceOutputs.length} classes, "${instance.name}" ${answer.values.length}`,
      );
    }
    const { settings } = this.#options;
    const keep = keepInputs && settings.inputs === 'keep';
    return {
      source: isFeedback(audit) ? 'feedback' : 'audit',
      ...(isFeedback(audit) && { feedbackLabel: audit.label }),
      edgeId,
      deviceId,
      requestId: audit.id,
      answeredAt: new Date(audit.time),
      rate: audit.rate,
      answerTier: audit.tier,
      device: {
        model: audit.model,
        outputs: audit.deviceOutputs,
        score: audit.deviceScore,
        label: argmax(audit.deviceOutputs),
      },
      edge: edge && { ...edge, label: argmax(edge.outputs) },
      cloud: {
        model: `${instance.name}:${instance.version}`,
        outputs: Array.from(answer.values),
        score: scoreOf(config.routing.score, answer.probabilities),
        label: argmax(answer.probabilities),
      },
      input: keep ? (auditWire(audit).input as Record<string, unknown>) : null,
      inputExpiresAt: keep ? new Date(Date.now() + settings.inputTtlMs) : null,
    };
  }
}
