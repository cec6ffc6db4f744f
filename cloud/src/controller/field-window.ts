/**
 * One field-record window per edge (docs/field-accuracy.md "The controller, wired"): the edge's audit
 * records as the controller's `FieldRecord`s, bounded by count and age (shared `RollingWindow`, on
 * the service's clock), restarted when the edge raises a drift alarm so that figures from before a
 * shift do not dilute those after it. The restart counts from when the edge's alarm went on, not from
 * when this service noticed it: records of requests answered before then are left out, also those
 * that reach the store later (uploads are batched and the reference pass waits for an idle model), so
 * that a few pre-shift records — weighing 1/p = 50 each against 5 for those audited at the alarm's
 * 20 % — neither delay the fallback (they cut n_eff) nor pull its quantiles toward the old population.
 *
 * Only `source: 'audit'` records enter: they are the uniform sample the shares and agreement are
 * measured on. Ground truth counts where an audit record carries it (`feedbackLabel`). Records of
 * other sources (application feedback on its own) are not a uniform sample and stay out.
 * Scores: each tier's record holds the score of its routing kind (the device's and the edge's policy
 * kinds, which the controller keeps); a record whose edge did not answer lacks a tier and is skipped.
 */

import { type Clock, RollingWindow, type ScoredAudit, type ScoreKind, type Tier } from '@fogline/shared';
import type { FieldRecord } from '@fogline/toolchain';
import type { AuditRecord } from '../store/index.ts';

/** A field record plus the tier that actually answered it (for the live shares). */
export interface WindowRecord extends FieldRecord {
  readonly answerTier: Tier;
  /** The record's device and cloud scores with their models, for the audit drift check's PSIs. */
  readonly scored: ScoredAudit;
  /** When the request was answered (the device's clock, ms): a restarted window starts from a time. */
  readonly answeredAtMs: number;
  /** The device's and the edge's `name:version`, as one key (a model change: `ofNewestModels`). */
  readonly models: string;
}

/**
 * The records answered by the device and edge models of the newest-answered record: after a model
 * change the controller fits the new models' thresholds on their own scores, never on the old ones'.
 */
export function ofNewestModels(records: readonly WindowRecord[]): WindowRecord[] {
  let newest: WindowRecord | undefined;
  for (const r of records) if (!newest || r.answeredAtMs >= newest.answeredAtMs) newest = r;
  return newest ? records.filter((r) => r.models === newest.models) : [];
}

/** The score kind each tier's stored score is of. */
export interface ScoreKinds {
  readonly device: ScoreKind;
  readonly edge: ScoreKind;
  /** The cloud model's routing kind, when known (for the weak-reference PSI). */
  readonly cloud?: ScoreKind;
}

export interface FieldWindowSettings {
  /** Records kept per edge at most (the newest). */
  readonly maxRecords: number;
  /** Records older than this (from when the controller read them) leave the window. */
  readonly maxAgeMs: number;
}

export const DEFAULT_FIELD_WINDOW: FieldWindowSettings = Object.freeze({
  maxRecords: 20_000,
  maxAgeMs: 24 * 3_600_000,
});

/** The audit record as a controller record, or undefined when it cannot be one (no edge answer). */
export function windowRecordOf(r: AuditRecord, kinds: ScoreKinds, atMs: number): WindowRecord | undefined {
  if (r.source !== 'audit' || r.edge === null) return undefined;
  return {
    answers: { device: r.device.label, edge: r.edge.label, cloud: r.cloud.label },
    reference: r.cloud.label,
    p: r.rate,
    ...(r.feedbackLabel !== null && { groundTruth: r.feedbackLabel }),
    scores: {
      device: { [kinds.device]: r.device.score },
      edge: { [kinds.edge]: r.edge.score },
      cloud: kinds.cloud === undefined ? {} : { [kinds.cloud]: r.cloud.score },
    },
    atMs,
    answeredAtMs: r.answeredAt.getTime(),
    models: `${r.device.model} ${r.edge.model}`,
    answerTier: r.answerTier,
    scored: {
      source: r.source,
      p: r.rate,
      deviceModel: r.device.model,
      deviceScore: r.device.score,
      cloudModel: r.cloud.model,
      cloudScore: r.cloud.score,
    },
  };
}

export class FieldWindows {
  readonly #windows = new Map<string, RollingWindow<WindowRecord>>();
  /** Per edge, the time its window was last restarted from: records answered before are left out. */
  readonly #from = new Map<string, number>();
  /** Per edge, records read before the edge said its score kinds (its telemetry): added once it does. */
  readonly #waiting = new Map<string, AuditRecord[]>();
  readonly #settings: FieldWindowSettings;
  readonly #clock: Clock;

  constructor(settings: FieldWindowSettings, clock: Clock) {
    this.#settings = settings;
    this.#clock = clock;
  }

  add(edgeId: string, record: WindowRecord): void {
    if (record.answeredAtMs < (this.#from.get(edgeId) ?? Number.NEGATIVE_INFINITY)) return;
    let window = this.#windows.get(edgeId);
    if (!window) {
      window = new RollingWindow<WindowRecord>({
        maxCount: this.#settings.maxRecords,
        maxAgeMs: this.#settings.maxAgeMs,
        clock: this.#clock,
      });
      this.#windows.set(edgeId, window);
    }
    window.push(record);
  }

  /**
   * Keeps a record of an edge whose score kinds are not known yet (a restarted cloud reads the stored
   * records before the edges report again): the newest `maxRecords` per edge, until `takeWaiting`.
   */
  wait(edgeId: string, record: AuditRecord): void {
    const waiting = this.#waiting.get(edgeId) ?? [];
    waiting.push(record);
    if (waiting.length > this.#settings.maxRecords) waiting.shift();
    this.#waiting.set(edgeId, waiting);
  }

  /** The records kept by `wait` for the edge, oldest first; they are no longer kept. */
  takeWaiting(edgeId: string): AuditRecord[] {
    const waiting = this.#waiting.get(edgeId) ?? [];
    this.#waiting.delete(edgeId);
    return waiting;
  }

  /** Edges with records kept by `wait`. */
  waitingEdges(): string[] {
    return [...this.#waiting.keys()];
  }

  /** The edge's records in the window, oldest first. */
  records(edgeId: string): WindowRecord[] {
    return this.#windows.get(edgeId)?.records() ?? [];
  }

  /**
   * Restarts the edge's window (a drift alarm: the figures start again). With `fromMs` (when the
   * alarm went on) the records of requests answered since then stay and later records of requests
   * answered before it are refused; without, the window is emptied.
   */
  restart(edgeId: string, fromMs?: number): void {
    const window = this.#windows.get(edgeId);
    if (fromMs === undefined) {
      window?.clear();
      return;
    }
    this.#from.set(edgeId, fromMs);
    window?.retain((r) => r.answeredAtMs >= fromMs);
  }

  edges(): string[] {
    return [...this.#windows.keys()].sort();
  }
}
