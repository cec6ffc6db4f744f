/**
 * The cloud's own drift figures on the audit records (docs/field-accuracy.md "The cloud's drift
 * checks"): per edge, every `intervalMs`, the records in the controller's field window of that edge
 * (field-window.ts: read from the store once, by the controller) go through the core's
 * `auditDriftOf` against the calibration histograms in the served edge model's config (`drift`, the
 * device model's, and `drift.baseline.cloudScores`, the cloud model's). The two PSIs are kept for
 * `/metrics` and `GET /api/edges`.
 *
 * Whether the reference is weak on an edge's traffic is not decided here: the controller's
 * weak-reference rule (decidePolicy, on the same window and the same cloud-score histogram) is the
 * one signal (`fogline_reference_weak`, `reference_weak` in the API, one log line).
 */
import {
  type AuditDrift,
  type AuditDriftReferences,
  auditDriftOf,
  driftModelOf,
  fromUnknown,
  type ModelConfig,
  type ScoredAudit,
} from '@fogline/shared';

export interface AuditDriftCheckOptions {
  /** The edge's records in the controller's field window, oldest first. */
  readonly records: (edgeId: string) => readonly ScoredAudit[];
  /** The edges to check (ids). */
  readonly edges: () => Promise<readonly string[]>;
  /** The configs of the served edge-tier models, `name:version` → config. */
  readonly edgeModels: () => ReadonlyMap<string, ModelConfig>;
  /** How often every edge is checked, ms. Default 60 s. */
  readonly intervalMs?: number;
  readonly warn: (line: string) => void;
}

/** The figures of one edge, as `GET /api/edges` shows them. */
export interface AuditDriftView {
  readonly device: { readonly psi: number | null; readonly records: number };
  readonly cloud: { readonly psi: number | null; readonly records: number };
  /** When they were computed, ISO 8601. */
  readonly at: string;
}

const DEFAULT_INTERVAL_MS = 60_000;

export class AuditDriftCheck {
  readonly #o: AuditDriftCheckOptions;
  readonly #latest = new Map<string, { drift: AuditDrift; at: Date }>();
  readonly #timer: ReturnType<typeof setInterval>;
  #running: Promise<void> | undefined;

  constructor(options: AuditDriftCheckOptions) {
    this.#o = options;
    this.#timer = setInterval(() => void this.refresh(), options.intervalMs ?? DEFAULT_INTERVAL_MS);
    this.#timer.unref?.();
  }

  /** The latest figures of every edge checked. */
  entries(): ReadonlyMap<string, { drift: AuditDrift; at: Date }> {
    return this.#latest;
  }

  view(edgeId: string): AuditDriftView | null {
    const latest = this.#latest.get(edgeId);
    if (!latest) return null;
    const { device, cloud } = latest.drift;
    return {
      device: { psi: device.psi ?? null, records: device.records },
      cloud: { psi: cloud.psi ?? null, records: cloud.records },
      at: latest.at.toISOString(),
    };
  }

  /** Checks every edge now (one run at a time; a call during a run waits for it). */
  refresh(): Promise<void> {
    this.#running ??= this.#refreshAll().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  close(): void {
    clearInterval(this.#timer);
  }

  async #refreshAll(): Promise<void> {
    try {
      for (const edgeId of await this.#o.edges()) this.#check(edgeId);
    } catch (err) {
      this.#o.warn(`audit drift check failed: ${fromUnknown(err).message}`);
    }
  }

  #check(edgeId: string): void {
    const records = this.#o.records(edgeId);
    const references = referencesOf(records, this.#o.edgeModels());
    // An empty window (restarted on a drift alarm) or no reference: no figures rather than stale ones.
    if (!references) {
      this.#latest.delete(edgeId);
      return;
    }
    this.#latest.set(edgeId, { drift: auditDriftOf(records, references), at: new Date() });
  }
}

/**
 * The calibration histograms the records are compared with: the drift block, in a served edge
 * model's config, that is for the newest record's device model.
 */
function referencesOf(
  records: readonly ScoredAudit[],
  edgeModels: ReadonlyMap<string, ModelConfig>,
): AuditDriftReferences | undefined {
  const newest = records.at(-1);
  if (!newest) return undefined;
  const drift = [...edgeModels.values()]
    .map((c) => (c.drift && driftModelOf(c.drift) === newest.deviceModel ? c.drift : undefined))
    .find((d) => d !== undefined);
  if (!drift) return undefined;
  return { device: drift, ...(drift.baseline?.cloudScores && { cloud: drift.baseline.cloudScores }) };
}
