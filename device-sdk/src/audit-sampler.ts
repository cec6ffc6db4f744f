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
  type Clock,
  type DeviceReport,
  seededRandom,
  type Tensor,
  type TensorDatatype,
  type TensorQuantization,
  TokenBucket,
} from '@fogline/shared';
import type { InferResult } from './answer.ts';

/**
 * Audits a device may send per second (and in a burst): below the edge broker's report bucket (5/s,
 * burst 20 per device), so audits, the least urgent reports, never crowd out score histograms.
 */
export const DEFAULT_AUDIT_BUDGET = Object.freeze({ ratePerSec: 2, burst: 10 });

export interface AuditCounts {
  /** Audits handed to the broker. */
  readonly sent: number;
  /** Sampled but not sent: offline, or a body the report channel refuses (e.g. too big an input). */
  readonly notSent: number;
  /** Sampled but over the device's audit budget (`auditBudget`): dropped before anything is built. */
  readonly overBudget: number;
}

export interface AuditSamplerOptions {
  /** Seed of the sampling draws (tests); default: a random one. */
  readonly seed: number | undefined;
  /** Sends one report; false when it could not be handed to the broker. */
  readonly send: (report: DeviceReport) => boolean;
  /** Runs `task` after the current answer has been delivered (default: a 0 ms timer). */
  readonly defer?: (task: () => void) => void;
  /** Most audits per second and in a burst; default DEFAULT_AUDIT_BUDGET. */
  readonly budget?: { readonly ratePerSec: number; readonly burst: number };
  readonly clock?: Clock;
}

export class AuditSampler {
  readonly #random: () => number;
  readonly #send: (report: DeviceReport) => boolean;
  readonly #defer: (task: () => void) => void;
  readonly #budget: TokenBucket;
  #sent = 0;
  #notSent = 0;
  #overBudget = 0;

  constructor(options: AuditSamplerOptions) {
    this.#random = seededRandom(options.seed ?? Math.floor(Math.random() * 2 ** 32));
    this.#send = options.send;
    this.#defer = options.defer ?? ((task) => setTimeout(task, 0));
    this.#budget = new TokenBucket({
      ...(options.budget ?? DEFAULT_AUDIT_BUDGET),
      ...(options.clock && { clock: options.clock }),
    });
  }

  get counts(): AuditCounts {
    return { sent: this.#sent, notSent: this.#notSent, overBudget: this.#overBudget };
  }

  /** Takes one token of the audit budget (feedback shares it); false, counted nowhere, when empty. */
  takeBudget(): boolean {
    return this.#budget.tryTake().ok;
  }

  /**
   * One answered request: with probability `rate`, schedules its audit. `build` runs later, off the
   * answer's path (it must only read values that no longer change).
   */
  consider(rate: number, build: () => AuditBody): void {
    // One draw per request whatever the rate, so a seeded device samples the same requests at any p.
    const draw = this.#random();
    if (!(draw < rate)) return;
    if (!this.#budget.tryTake().ok) {
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
