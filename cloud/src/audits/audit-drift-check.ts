/**
 * The cloud's own drift checks on the audit records (docs/field-accuracy.md "The cloud's drift
 * checks"): per edge, every `intervalMs`, the records of the last `windowMs` go through the core's
 * `auditDriftOf` against the calibration histograms in the served edge model's config (`drift`, the
 * device model's, and `drift.baseline.cloudScores`, the cloud model's). The result is kept for
 * `/metrics` and `GET /api/edges`; when the cloud-score PSI passes the weak-reference line, a log
 * line says "reference weak on this traffic" and the listeners hear it (once per crossing).
 *
 * Thin on purpose: it reads the records through the store until the cloud keeps a record window
 * per edge, which will then feed `auditDriftOf` instead.
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
import type { AuditRecord, AuditRecordRepository } from '../store/index.ts';

export interface AuditDriftCheckOptions {
  readonly records: Pick<AuditRecordRepository, 'list'>;
  /** The edges to check (ids). */
  readonly edges: () => Promise<readonly string[]>;
  /** The configs of the served edge-tier models, `name:version` → config. */
  readonly edgeModels: () => ReadonlyMap<string, ModelConfig>;
  /** Records of the last this many ms count. Default 1 h. */
  readonly windowMs?: number;
  /** How often every edge is checked, ms. Default 60 s. */
  readonly intervalMs?: number;
  readonly info: (line: string) => void;
  readonly warn: (line: string) => void;
}

/** The figures of one edge, as `GET /api/edges` shows them. */
export interface AuditDriftView {
  readonly device: { readonly psi: number | null; readonly records: number };
  readonly cloud: { readonly psi: number | null; readonly records: number; readonly weak: boolean };
  /** When they were computed, ISO 8601. */
  readonly at: string;
}

export type WeakReferenceListener = (edgeId: string, drift: AuditDrift) => void;

const DEFAULTS = { windowMs: 3_600_000, intervalMs: 60_000 };

export class AuditDriftCheck {
  readonly #o: AuditDriftCheckOptions;
  readonly #latest = new Map<string, { drift: AuditDrift; at: Date }>();
  readonly #listeners = new Set<WeakReferenceListener>();
  readonly #timer: ReturnType<typeof setInterval>;
  #running: Promise<void> | undefined;
  #weakEvents = 0;

  constructor(options: AuditDriftCheckOptions) {
    this.#o = options;
    this.#timer = setInterval(() => void this.refresh(), options.intervalMs ?? DEFAULTS.intervalMs);
    this.#timer.unref?.();
  }

  /** The latest figures of every edge checked. */
  entries(): ReadonlyMap<string, { drift: AuditDrift; at: Date }> {
    return this.#latest;
  }

  /** How often a reference turned weak on some edge since start. */
  get weakEvents(): number {
    return this.#weakEvents;
  }

  view(edgeId: string): AuditDriftView | null {
    const latest = this.#latest.get(edgeId);
    if (!latest) return null;
    const { device, cloud } = latest.drift;
    return {
      device: { psi: device.psi ?? null, records: device.records },
      cloud: { psi: cloud.psi ?? null, records: cloud.records, weak: cloud.weak },
      at: latest.at.toISOString(),
    };
  }

  /** Calls `listener` whenever an edge's reference turns weak; returns its removal. */
  onWeakReference(listener: WeakReferenceListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
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
      for (const edgeId of await this.#o.edges()) await this.#check(edgeId);
    } catch (err) {
      this.#o.warn(`audit drift check failed: ${fromUnknown(err).message}`);
    }
  }

  async #check(edgeId: string): Promise<void> {
    const since = new Date(Date.now() - (this.#o.windowMs ?? DEFAULTS.windowMs));
    const records = await this.#o.records.list({ edgeId, since });
    const references = referencesOf(records, this.#o.edgeModels());
    if (!references) return;
    const drift = auditDriftOf(records.map(scoredAudit), references);
    const wasWeak = this.#latest.get(edgeId)?.drift.cloud.weak ?? false;
    this.#latest.set(edgeId, { drift, at: new Date() });
    if (drift.cloud.weak && !wasWeak) {
      this.#weakEvents++;
      this.#o.warn(
        `edge ${edgeId}: reference weak on this traffic: the cloud's own scores on ${drift.cloud.records} audits drifted from calibration (PSI ${drift.cloud.psi?.toFixed(2)})`,
      );
      for (const listener of this.#listeners) listener(edgeId, drift);
    } else if (!drift.cloud.weak && wasWeak) {
      this.#o.info(
        `edge ${edgeId}: reference no longer weak (cloud-score PSI ${drift.cloud.psi?.toFixed(2) ?? 'n/a'})`,
      );
    }
  }
}

function scoredAudit(r: AuditRecord): ScoredAudit {
  return {
    source: r.source,
    p: r.rate,
    deviceModel: r.device.model,
    deviceScore: r.device.score,
    cloudModel: r.cloud.model,
    cloudScore: r.cloud.score,
  };
}

/**
 * The calibration histograms the newest record is compared with: those in the config of the edge
 * model that answered it, else of any served edge model whose drift block is for its device model.
 */
function referencesOf(
  records: readonly AuditRecord[],
  edgeModels: ReadonlyMap<string, ModelConfig>,
): AuditDriftReferences | undefined {
  const newest = records.at(-1);
  if (!newest) return undefined;
  const forDevice = (c: ModelConfig | undefined) =>
    c?.drift && driftModelOf(c.drift) === newest.device.model ? c.drift : undefined;
  const drift =
    forDevice(newest.edge ? edgeModels.get(newest.edge.model) : undefined) ??
    [...edgeModels.values()].map(forDevice).find((d) => d !== undefined);
  if (!drift) return undefined;
  return { device: drift, ...(drift.baseline?.cloudScores && { cloud: drift.baseline.cloudScores }) };
}
