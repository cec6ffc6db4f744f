/**
 * Audits from the device's side (docs/device-sdk.md "Audits"): each answered request is audited with
 * probability p — the edge's `auditRate` in the policy in effect, else 2 % — drawn from the device's
 * own seeded generator, so the sample is uniform over all traffic. The draw is made once the answer
 * is settled and the audit is built and sent on a later macrotask: never on the answer's path, and
 * nothing it does (a refused body, a broker that is down) reaches the caller: it is counted.
 */
import {
  type AuditBody,
  auditReport,
  type DeviceReport,
  seededRandom,
  type Tensor,
  type TensorDatatype,
  type TensorQuantization,
} from '@fogline/shared';
import type { InferResult } from './answer.ts';

export interface AuditCounts {
  /** Audits handed to the broker. */
  readonly sent: number;
  /** Sampled but not sent: offline, or a body the report channel refuses (e.g. too big an input). */
  readonly notSent: number;
  /**
   * Sampled but over the device's report budget (`auditBudget`; report-budget.ts), or while a score
   * histogram waits for it: dropped before anything is built.
   */
  readonly overBudget: number;
}

export interface AuditSamplerOptions {
  /** Seed of the sampling draws (tests); default: a random one. */
  readonly seed: number | undefined;
  /** Sends one report; false when it could not be handed to the broker. */
  readonly send: (report: DeviceReport) => boolean;
  /** Runs `task` after the current answer has been delivered (default: a 0 ms timer). */
  readonly defer?: (task: () => void) => void;
  /** A token of the device's report budget for one audit (ReportBudget.trySpare); false: none. */
  readonly takeBudget: () => boolean;
}

export class AuditSampler {
  readonly #random: () => number;
  readonly #send: (report: DeviceReport) => boolean;
  readonly #defer: (task: () => void) => void;
  readonly #takeBudget: () => boolean;
  #sent = 0;
  #notSent = 0;
  #overBudget = 0;

  constructor(options: AuditSamplerOptions) {
    this.#random = seededRandom(options.seed ?? Math.floor(Math.random() * 2 ** 32));
    this.#send = options.send;
    this.#defer = options.defer ?? ((task) => setTimeout(task, 0));
    this.#takeBudget = options.takeBudget;
  }

  get counts(): AuditCounts {
    return { sent: this.#sent, notSent: this.#notSent, overBudget: this.#overBudget };
  }

  /**
   * One answered request: with probability `rate`, schedules its audit. `build` runs later, off the
   * answer's path (it must only read values that no longer change).
   */
  consider(rate: number, build: () => AuditBody): void {
    // One draw per request whatever the rate, so a seeded device samples the same requests at any p.
    const draw = this.#random();
    if (!(draw < rate)) return;
    if (!this.#takeBudget()) {
      this.#overBudget++;
      return;
    }
    this.#defer(() => {
      let sent = false;
      try {
        sent = this.#send(auditReport(build()));
      } catch {
        sent = false;
      }
      if (sent) this.#sent++;
      else this.#notSent++;
    });
  }
}

/** What an answered request's audit body is built from (device.ts `infer`). */
export interface AnsweredRequest {
  readonly result: InferResult;
  readonly ownValues: Float32Array;
  readonly ownScore: number;
  /** The input as the model consumed it, and its quantization when it has one. */
  readonly input: Tensor<TensorDatatype>;
  readonly quantization: TensorQuantization | undefined;
  /** `name:version` of the device model. */
  readonly model: string;
  readonly rate: number;
  /** When it was answered, ms since the epoch. */
  readonly time: number;
}

/** An answered request as an audit body (docs/device-sdk.md "Audits"); built off the answer's path. */
export function auditBodyOf(a: AnsweredRequest): AuditBody {
  const { result } = a;
  return {
    id: result.requestId,
    time: a.time,
    rate: a.rate,
    model: a.model,
    input: a.input,
    ...(a.quantization && { inputQuantization: a.quantization }),
    deviceOutputs: Array.from(a.ownValues),
    deviceScore: a.ownScore,
    tier: result.tier,
    ...(result.tier !== 'device' && {
      answerOutputs: Array.from(result.outputs.logits),
      answerModelVersions: result.modelVersions,
    }),
  };
}
