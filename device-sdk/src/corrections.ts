/**
 * Late corrections on the device (docs/device-sdk.md "Late corrections"): the edge's retained
 * message on `device/{id}/correction` lists the requests it answered degraded while the cloud was
 * down and the cloud later answered with another class. It comes again at every reconnect and every
 * change (at-least-once), so each request id is emitted once: the ids seen are kept in a bounded set
 * (the oldest forgotten first), far larger than one message's 64 corrections.
 */
import { type CorrectionAnswer, type ModelConfig, readCorrectionMessage, type Tier } from '@fogline/shared';
import { type Classified, classify, type InferResult } from './answer.ts';

/** One tier's answer to a corrected request, classified with the device's labels. */
export interface CorrectedAnswer {
  readonly tier: Tier;
  /** `name:version` of the model that gave it. */
  readonly model: string;
  readonly outputs: InferResult['outputs'];
  readonly outputKind: InferResult['outputKind'];
  readonly label: number;
  readonly labelName: string | undefined;
}

/** What `device.on('correction', …)` receives. */
export interface LateCorrection {
  /** The `InferResult.requestId` of the request that was answered degraded. */
  readonly requestId: string;
  /** When the degraded answer was given (the edge's clock, ms since the epoch). */
  readonly time: number;
  /** The degraded answer the application got, and the cloud's, given later. */
  readonly old: CorrectedAnswer;
  readonly new: CorrectedAnswer;
}

export type CorrectionListener = (correction: LateCorrection) => void;

export interface CorrectionCounts {
  /** Corrections emitted, repeats ignored, messages refused as malformed. */
  readonly emitted: number;
  readonly repeats: number;
  readonly refused: number;
}

export interface CorrectionInboxOptions {
  readonly deviceId: string;
  readonly config: ModelConfig;
  /** Request ids remembered for deduplication. Default 4096. */
  readonly maxSeen?: number;
  readonly onListenerError?: (err: unknown) => void;
}

export class CorrectionInbox {
  readonly #o: CorrectionInboxOptions;
  readonly #seen = new Set<string>();
  readonly #listeners = new Set<CorrectionListener>();
  readonly #counts = { emitted: 0, repeats: 0, refused: 0 };

  constructor(options: CorrectionInboxOptions) {
    this.#o = options;
  }

  get counts(): CorrectionCounts {
    return { ...this.#counts };
  }

  listen(listener: CorrectionListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** One message of the correction topic; untrusted. */
  receive(payload: Uint8Array): void {
    const reading = readCorrectionMessage(payload, this.#o.deviceId);
    if (!reading.ok) {
      this.#counts.refused++;
      return;
    }
    for (const c of reading.message.corrections) {
      if (this.#seen.has(c.requestId)) {
        this.#counts.repeats++;
        continue;
      }
      let event: LateCorrection;
      try {
        event = { requestId: c.requestId, time: c.time, old: this.#answer(c.old), new: this.#answer(c.new) };
      } catch {
        this.#counts.refused++;
        continue;
      }
      this.#remember(c.requestId);
      this.#counts.emitted++;
      for (const listener of this.#listeners) {
        try {
          listener(event);
        } catch (err) {
          this.#o.onListenerError?.(err);
        }
      }
    }
  }

  #remember(id: string): void {
    this.#seen.add(id);
    const max = this.#o.maxSeen ?? 4096;
    for (const oldest of this.#seen) {
      if (this.#seen.size <= max) break;
      this.#seen.delete(oldest);
    }
  }

  #answer(a: CorrectionAnswer): CorrectedAnswer {
    const c: Classified = classify(Float32Array.from(a.outputs), a.outputKind, this.#o.config.labels);
    return {
      tier: a.tier,
      model: a.model,
      outputs: c.outputs,
      outputKind: c.outputKind,
      label: c.label,
      labelName: c.labelName,
    };
  }
}
