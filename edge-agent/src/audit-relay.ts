/**
 * Audits at the edge (docs/edge-agent.md "Audits"): reads the devices' audit reports, adds the edge
 * model's own answer at the lowest priority, and uploads them to the cloud in batches. Everything
 * here is optional work and yields to requests:
 * - the edge model runs an audit only while it has no request queued or running (polling a side
 *   queue), so an audit never delays a request's batch;
 * - the side queue is bounded: past it an audit is dropped and counted (shed first under load);
 * - but never entirely during a drift alarm: while `floorPerSec()` is above 0, that many audits per
 *   second leave the queue even while the model stays busy — without the edge's answer (`edge:
 *   null`; the cloud adds its reference as for any audit), so a request still never waits for one;
 * - while the cloud breaker is open audits are dropped and counted, not queued, and a failed upload
 *   is dropped and counted, never retried (no retry storms); one upload is in flight at a time.
 */

import type { ClassAnswer } from '@fogline/shared';
import {
  type AuditBody,
  type AuditUploadItem,
  type DeviceReport,
  encodeAuditUpload,
  fromUnknown,
  isFeedback,
  MAX_AUDIT_UPLOAD,
  type ResolvedPolicy,
  readAuditBody,
  scoreOf,
  type Tensor,
  TokenBucket,
} from '@fogline/shared';

/** What the relay needs of the edge model (edge-model.ts). */
export interface AuditModel {
  readonly label: string;
  readonly queueDepth: number;
  readonly batchesInFlight: number;
  validate(request: {
    tensors: readonly Tensor[];
    inputQuantization?: AuditBody['inputQuantization'];
  }): Tensor;
  infer(input: Tensor): Promise<ClassAnswer>;
}

export interface AuditRelayOptions {
  readonly model: AuditModel;
  /** The edge's routing policy in effect (its score kind scores the edge's answer). */
  readonly routing: () => ResolvedPolicy;
  /** The cloud model the edge escalates to: the reference the cloud runs. */
  readonly cloudModel: string;
  /** false = the edge's opt-out: the cloud stores no inputs of this edge. */
  readonly keepInputs: boolean;
  /** True while the cloud breaker is open. */
  readonly cloudDown: () => boolean;
  /** Uploads one encoded batch; rejects on any failure. */
  readonly upload: (body: string) => Promise<{ accepted: number; dropped: number }>;
  /** Audits waiting for the edge model or the upload, at most. Default 256. */
  readonly maxQueued?: number;
  /** Longest wait before a partial batch is uploaded, ms. Default 1000. */
  readonly flushMs?: number;
  /**
   * True while the records are wanted soon (a drift alarm: the controller places its fallback on
   * them): partial batches then leave after `urgentFlushMs` instead. Default: never.
   */
  readonly urgent?: () => boolean;
  /**
   * The wait for a partial batch while `urgent()`, ms. Default 0: each audit leaves as soon as no
   * upload is in flight, and those ready meanwhile go together in the next (one upload at a time).
   */
  readonly urgentFlushMs?: number;
  /**
   * Audits per second forwarded without the edge's pass while the edge model stays busy: the floor
   * during a drift alarm (0 otherwise). Default: none.
   */
  readonly floorPerSec?: () => number;
  /**
   * The edge's previous model while a deployment's gate runs (deployment/model-slot.ts `shadow`): its
   * answer on the same input goes in the upload's `shadow`, run at the same low priority. Default none.
   */
  readonly shadow?: () => AuditModel | undefined;
  /** How long to wait before looking again when the edge model is busy, ms. Default 5. */
  readonly idlePollMs?: number;
  readonly warn: (message: string) => void;
}

export interface AuditRelayCounts {
  /** Audit reports read from devices, and refused as malformed. */
  readonly received: number;
  readonly invalid: number;
  /** Audits the cloud accepted. */
  readonly uploaded: number;
  /** Forwarded under the floor, without the edge's answer, while the edge model was busy. */
  readonly floor: number;
  /** Dropped, by why: side queue full, cloud breaker open, upload failed, refused by the cloud's queue. */
  readonly dropped: {
    readonly queueFull: number;
    readonly cloudDown: number;
    readonly uploadFailed: number;
    readonly cloudFull: number;
  };
  /** Waiting for the edge model, and waiting for the upload. */
  readonly queued: number;
}

export class AuditRelay {
  readonly #o: AuditRelayOptions;
  readonly #maxQueued: number;
  /** Audits waiting for the edge model. */
  readonly #waiting: { deviceId: string; audit: AuditBody }[] = [];
  /** Audits with the edge's answer, waiting for the upload. */
  readonly #ready: AuditUploadItem[] = [];
  #pumping = false;
  /** The audit the edge model is running on (0 or 1). */
  #inModel = 0;
  #uploading: Promise<void> | undefined;
  #flushTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  #received = 0;
  #invalid = 0;
  #uploaded = 0;
  #floor = 0;
  /** Tokens of the floor, and the rate they were made for (rebuilt when the rate changes). */
  #floorBucket: TokenBucket | undefined;
  readonly #dropped = { queueFull: 0, cloudDown: 0, uploadFailed: 0, cloudFull: 0 };

  constructor(options: AuditRelayOptions) {
    this.#o = options;
    this.#maxQueued = options.maxQueued ?? 256;
  }

  counts(): AuditRelayCounts {
    return {
      received: this.#received,
      invalid: this.#invalid,
      uploaded: this.#uploaded,
      floor: this.#floor,
      dropped: { ...this.#dropped },
      queued: this.#queued,
    };
  }

  /**
   * One report from a device (ReportInbox listener): audits and feedback (an audit body with the
   * application's label, relayed the same way) are taken, other kinds ignored.
   */
  receive(deviceId: string, report: DeviceReport): void {
    if ((report.kind !== 'audit' && report.kind !== 'feedback') || this.#closed) return;
    this.#received++;
    const reading = readAuditBody(report.body);
    // The kind must say what the body is: a feedback body in an audit report would bias the sample.
    if (!reading.ok || isFeedback(reading.audit) !== (report.kind === 'feedback')) {
      this.#invalid++;
      return;
    }
    if (this.#o.cloudDown()) {
      this.#dropped.cloudDown++;
      return;
    }
    if (this.#queued >= this.#maxQueued) {
      this.#dropped.queueFull++;
      return;
    }
    this.#waiting.push({ deviceId, audit: reading.audit });
    void this.#pump();
  }

  get #queued(): number {
    return this.#waiting.length + this.#inModel + this.#ready.length;
  }

  /**
   * Stops taking audits and uploading; audits not uploaded yet are dropped. An upload in flight is
   * not waited for (closing the cloud client ends it): a stop never hangs on a slow cloud.
   */
  close(): void {
    this.#closed = true;
    if (this.#flushTimer) clearTimeout(this.#flushTimer);
  }

  /** Runs the edge model on waiting audits, one at a time, only while it has no request of its own. */
  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (this.#waiting.length > 0 && !this.#closed) {
        const { model } = this.#o;
        if (model.queueDepth > 0 || model.batchesInFlight > 0) {
          if (this.#floorToken()) {
            const { deviceId, audit } = this.#waiting.shift()!;
            this.#floor++;
            this.#readyOne({ deviceId, audit, edge: null });
            continue;
          }
          await new Promise((r) => setTimeout(r, this.#o.idlePollMs ?? 5));
          continue;
        }
        const { deviceId, audit } = this.#waiting.shift()!;
        this.#inModel = 1;
        const edge = await this.#edgeAnswer(model, audit);
        const shadowModel = edge && this.#o.shadow?.();
        const shadow = shadowModel ? await this.#shadowAnswer(shadowModel, audit) : undefined;
        this.#inModel = 0;
        this.#readyOne({ deviceId, audit, edge, ...(shadow && { shadow }) });
      }
    } finally {
      this.#pumping = false;
    }
  }

  #readyOne(item: AuditUploadItem): void {
    this.#ready.push(item);
    if (this.#ready.length >= MAX_AUDIT_UPLOAD) this.#flush();
    else this.#flushTimer ??= setTimeout(() => this.#flush(), this.#flushDelayMs());
  }

  #flushDelayMs(): number {
    const { flushMs = 1_000, urgentFlushMs = 0 } = this.#o;
    return this.#o.urgent?.() ? Math.min(flushMs, urgentFlushMs) : flushMs;
  }

  /** Whether the floor lets one more audit past a busy edge model now. */
  #floorToken(): boolean {
    const rate = this.#o.floorPerSec?.() ?? 0;
    if (!(rate > 0)) return false;
    if (this.#floorBucket?.ratePerSec !== rate) {
      this.#floorBucket = new TokenBucket({ ratePerSec: rate, burst: Math.max(1, Math.ceil(rate)) });
    }
    return this.#floorBucket.tryTake().ok;
  }

  /**
   * The previous model's answer, run only once the serving model is idle again (a request never
   * waits for it); undefined when the gate ended meanwhile or it cannot take the input.
   */
  async #shadowAnswer(shadow: AuditModel, audit: AuditBody): Promise<AuditUploadItem['shadow']> {
    const { model } = this.#o;
    while ((model.queueDepth > 0 || model.batchesInFlight > 0) && !this.#closed) {
      await new Promise((r) => setTimeout(r, this.#o.idlePollMs ?? 5));
    }
    if (this.#closed || this.#o.shadow?.() !== shadow) return undefined;
    return (await this.#edgeAnswer(shadow, audit)) ?? undefined;
  }

  /** `model`'s answer, or null when it cannot take this input (the cloud still can). */
  async #edgeAnswer(model: AuditModel, audit: AuditBody): Promise<AuditUploadItem['edge']> {
    const label = model.label;
    try {
      const input = model.validate({
        tensors: [audit.input],
        ...(audit.inputQuantization && { inputQuantization: audit.inputQuantization }),
      });
      const answer = await model.infer(input);
      if (answer.values.length !== audit.deviceOutputs.length) return null;
      const score = scoreOf(this.#o.routing().score, answer.probabilities);
      return { model: label, outputs: Array.from(answer.values), score };
    } catch {
      return null;
    }
  }

  /** Uploads what is ready (one upload at a time; what arrives meanwhile waits for the next). */
  #flush(): void {
    if (this.#flushTimer) clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    if (this.#uploading || this.#ready.length === 0 || this.#closed) return;
    const batch = this.#ready.splice(0, MAX_AUDIT_UPLOAD);
    if (this.#o.cloudDown()) {
      this.#dropped.cloudDown += batch.length;
      return;
    }
    const { cloudModel, keepInputs } = this.#o;
    this.#uploading = this.#o
      .upload(encodeAuditUpload({ cloudModel, keepInputs, audits: batch }))
      .then(
        ({ accepted, dropped }) => {
          this.#uploaded += accepted;
          this.#dropped.cloudFull += dropped;
        },
        (err) => {
          this.#dropped.uploadFailed += batch.length;
          this.#o.warn(`audit upload failed, ${batch.length} audit(s) dropped: ${fromUnknown(err).message}`);
        },
      )
      .finally(() => {
        this.#uploading = undefined;
        if (this.#ready.length > 0) this.#flushTimer ??= setTimeout(() => this.#flush(), 0);
      });
  }
}
