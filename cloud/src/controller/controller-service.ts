/**
 * The controller, wired (issue 12 item 6; docs/field-accuracy.md "The controller, wired"). Every
 * `intervalMs` this replica reads the audit records stored since its last read into one window per
 * edge (field-window.ts; every replica does this, for the live field accuracy), and, while it holds
 * the `controller` lease in the store (one replica at a time), runs `decidePolicy` per edge:
 *
 *   records: the edge's window       policy + baseline: what the edge reports in its telemetry
 *   drift alarm: the edge's telemetry (a new alarm restarts the window first)
 *   pinned: an operator's pin (store) or a pin on the edge     conservative, last change: the store
 *
 * `conservative` and `refit` write the new thresholds as the edge's directive (store, with a change
 * record) and republish the edge's desired state, whose `routing` block the edge applies. `hold` and
 * `report-weak-reference` change nothing; a weak reference is logged once and kept for the API and
 * metrics. Until the edge reports the directive applied, the controller holds. Edges that report no
 * routing (an older edge, or none online) are held: their last policy stays, as when the cloud is down.
 * While a model deployment runs on an edge (`rolloutHolds`), its policy is held too; a pin stays.
 */
import { type Clock, fromUnknown, type ResolvedPolicy, type ScoreKind } from '@fogline/shared';
import { type ControllerDecision, decidePolicy } from '@fogline/toolchain';
import type { EdgePresenceView } from '../fabric/edge-presence.ts';
import type { RoutingSummary } from '../fabric/telemetry-summary.ts';
import type { AuditRecord, Store } from '../store/index.ts';
import { type ControllerSettings, DEFAULT_ALARM_INTERVAL_MS } from './controller-settings.ts';
import { type FieldAccuracy, fieldAccuracyOf } from './field-accuracy.ts';
import { FieldWindows, ofNewestModels, type ScoreKinds, windowRecordOf } from './field-window.ts';

export {
  type ControllerSettings,
  DEFAULT_CONTROLLER_SETTINGS,
} from './controller-settings.ts';

export const CONTROLLER_LEASE = 'controller';
/** Records read from the store per query. */
const READ_BATCH = 5_000;

/**
 * A nudge decides for an edge only once its window holds this share more records than at its last
 * decision: the fallback's quantiles barely move on a few more records, and deciding on each upload
 * would only re-place it back and forth within its hysteresis. The ticks decide regardless.
 */
const NUDGE_GROWTH = 0.1;

export interface ControllerServiceOptions {
  readonly store: Pick<Store, 'auditRecords' | 'edgePolicies' | 'leases' | 'edges'>;
  readonly presence: (edgeId: string) => EdgePresenceView;
  /** Republishes the edge's desired state (it reads the directive from the store). */
  readonly publish: (edgeId: string) => Promise<unknown>;
  readonly settings: ControllerSettings;
  /** This replica's name in the lease. */
  readonly holder: string;
  /** Wall-clock ms (ManualClock in tests): window ages, the knobs' minIntervalMs. */
  readonly clock: Clock;
  /** The cloud model's routing score kind, if known (its stored scores are of it). */
  readonly cloudScore?: ScoreKind;
  readonly log: (line: string) => void;
  /** True while a model deployment runs on the edge (deployments/): the controller holds its policy. */
  readonly rolloutHolds?: (edgeId: string) => Promise<boolean>;
}

/** What the controller last made of one edge (API, metrics, `fogline status`). */
export interface EdgeControl {
  readonly decision: ControllerDecision | undefined;
  /** Set while the last decision found the reference weak on this edge's traffic. */
  readonly weakReference: string | undefined;
}

export class ControllerService {
  readonly windows: FieldWindows;
  readonly #o: ControllerServiceOptions;
  #afterId: number | undefined;
  #leader = false;
  readonly #alarms = new Map<string, number>();
  readonly #control = new Map<string, EdgeControl>();
  readonly #lastChangeMs = new Map<string, number>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #started = false;
  /** The edges of the last round, and when it began (performance.now()). */
  #edges: readonly string[] = [];
  #lastRoundAt = Number.NEGATIVE_INFINITY;
  #running: Promise<void> | undefined;
  /** Alarmed edges with records stored since the last round: they get a round as soon as none runs. */
  readonly #nudged = new Set<string>();
  /** Records in each edge's window when it was last decided on. */
  readonly #decidedOn = new Map<string, number>();
  #seq = 0;
  /** Edges whose unreadable stored directive was logged. */
  readonly #unreadable = new Set<string>();

  constructor(options: ControllerServiceOptions) {
    this.#o = options;
    this.windows = new FieldWindows(options.settings.window, options.clock);
  }

  /** True while this replica holds the controller lease. */
  get leader(): boolean {
    return this.#leader;
  }

  /**
   * Rounds every `intervalMs`; every `alarmIntervalMs` instead while an edge is in a drift alarm
   * (the telemetry says, read between rounds from memory).
   */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    const { intervalMs } = this.#o.settings;
    const alarmIntervalMs = Math.min(
      intervalMs,
      this.#o.settings.alarmIntervalMs ?? DEFAULT_ALARM_INTERVAL_MS,
    );
    const beat = alarmIntervalMs;
    const next = () => {
      this.#timer = setTimeout(async () => {
        const alarm = this.#edges.some((id) => this.#o.presence(id).telemetry?.drift?.alarm === true);
        const due =
          performance.now() - this.#lastRoundAt >= (alarm ? alarmIntervalMs : intervalMs) - beat / 2;
        if (due) await this.tick();
        if (this.#started) next();
      }, beat);
      this.#timer.unref();
    };
    next();
  }

  async stop(): Promise<void> {
    this.#started = false;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
    if (this.#leader) {
      await this.#o.store.leases.release(CONTROLLER_LEASE, this.#o.holder).catch(() => {});
      this.#leader = false;
    }
  }

  /** One round: read new records, then decide per edge if this replica holds the lease. Never rejects. */
  tick(): Promise<void> {
    return this.#run(() => this.#round());
  }

  /**
   * Records of `edgeId` were just stored (audit-intake.ts, on this replica). While the edge is in a
   * drift alarm its fallback waits on them, so a round for that edge alone runs now instead of at the
   * next tick: at once when no round runs, else right after the running one (rounds never overlap;
   * every edge nudged meanwhile shares that one round). It decides once the edge's window grew by
   * NUDGE_GROWTH since its last decision.
   */
  nudge(edgeId: string): void {
    if (!this.#started || !this.#o.settings.enabled) return;
    if (this.#o.presence(edgeId).telemetry?.drift?.alarm !== true) return;
    this.#nudged.add(edgeId);
    if (!this.#running) void this.#run(() => this.#nudgedRound());
  }

  #run(round: () => Promise<void>): Promise<void> {
    this.#running ??= round()
      .catch((err) => this.#o.log(`controller: ${fromUnknown(err).message}; holding every policy`))
      .finally(() => {
        this.#running = undefined;
        if (this.#nudged.size > 0 && this.#started) void this.#run(() => this.#nudgedRound());
      });
    return this.#running;
  }

  /** A round for the nudged edges only (the ticks keep their cadence for the others). */
  #nudgedRound(): Promise<void> {
    const edges = [...this.#nudged];
    this.#nudged.clear();
    return this.#round(edges);
  }

  field(edgeId: string): FieldAccuracy {
    return fieldAccuracyOf(this.windows.records(edgeId));
  }

  control(edgeId: string): EdgeControl {
    return this.#control.get(edgeId) ?? { decision: undefined, weakReference: undefined };
  }

  /** Reads new records, then decides for `only` those edges (a nudge) or every edge (a tick). */
  async #round(only?: readonly string[]): Promise<void> {
    let edges = only;
    if (!edges) {
      this.#lastRoundAt = performance.now();
      edges = (await this.#o.store.edges.list()).filter((e) => e.revokedAt === null).map((e) => e.id);
      this.#edges = edges;
    }
    for (const id of edges) this.#watchAlarm(id);
    await this.#read();
    const { settings, store, holder } = this.#o;
    if (!settings.enabled) return;
    const ttl = Math.max(3 * settings.intervalMs, 1_000);
    this.#leader = await store.leases.acquire(CONTROLLER_LEASE, holder, ttl);
    if (!this.#leader) return;
    for (const id of edges) {
      const n = this.windows.records(id).length;
      const last = this.#decidedOn.get(id);
      // A restarted window (n < last) counts as grown.
      if (only && last !== undefined && n >= last && n < last * (1 + NUDGE_GROWTH)) continue;
      this.#decidedOn.set(id, n);
      try {
        await this.#decide(id);
      } catch (err) {
        this.#o.log(`controller: edge '${id}': ${fromUnknown(err).message}; holding its policy`);
      }
    }
  }

  /**
   * A drift alarm raised since the last round restarts the edge's window; so does one on when this
   * replica first sees the edge (it went on before the edge's first telemetry, or before this
   * replica started): the records read so far may be from before it.
   */
  #watchAlarm(edgeId: string): void {
    const drift = this.#o.presence(edgeId).telemetry?.drift;
    if (!drift) return;
    const seen = this.#alarms.get(edgeId);
    this.#alarms.set(edgeId, drift.alarms);
    if (seen === undefined ? drift.alarm : drift.alarms > seen) {
      // From when the alarm went on (the edge says; an older edge does not: then from now).
      this.windows.restart(edgeId, drift.since === undefined ? undefined : Date.parse(drift.since));
      const from = drift.since === undefined ? '' : ` from ${drift.since}`;
      this.#o.log(`controller: drift alarm on edge '${edgeId}': its field-record window starts again${from}`);
    }
  }

  /** Reads the records stored since the last read (at first: those within the window's age). */
  async #read(): Promise<void> {
    const { store, settings } = this.#o;
    for (const id of this.windows.waitingEdges()) if (this.#kinds(id)) this.#add(undefined, id);
    for (;;) {
      const batch = await store.auditRecords.list({
        ...(this.#afterId === undefined
          ? { since: new Date(Date.now() - settings.window.maxAgeMs) }
          : { afterId: this.#afterId }),
        limit: READ_BATCH,
      });
      for (const r of batch) this.#add(r, r.edgeId);
      // Until a first record is read, each round looks back over the window's age (never older records).
      if (batch.length > 0) this.#afterId = batch.at(-1)!.id;
      if (batch.length < READ_BATCH) return;
    }
  }

  /**
   * Adds the edge's waiting records, then `r`, to its window; while the edge has not said its score
   * kinds (no telemetry yet, as right after a cloud restart), `r` waits for them instead of being lost.
   */
  #add(r: AuditRecord | undefined, edgeId: string): void {
    const kinds = this.#kinds(edgeId);
    if (!kinds) {
      if (r) this.windows.wait(edgeId, r);
      return;
    }
    for (const w of [...this.windows.takeWaiting(edgeId), ...(r ? [r] : [])]) {
      const record = windowRecordOf(w, kinds, this.#o.clock.now());
      if (record) this.windows.add(edgeId, record);
    }
  }

  /**
   * The score kinds the edge's stages route by (from its telemetry), if it reported them; the
   * cloud's from the baseline's cloud score histogram (the kind the cloud stores), else the option.
   */
  #kinds(edgeId: string): ScoreKinds | undefined {
    const routing = this.#o.presence(edgeId).telemetry?.routing;
    if (!routing?.device) return undefined;
    const cloud = routing.baseline?.cloudScores?.score ?? this.#o.cloudScore;
    return { device: routing.device.score, edge: routing.edge.score, ...(cloud && { cloud }) };
  }

  async #decide(edgeId: string): Promise<void> {
    const { store, clock, settings } = this.#o;
    const view = this.#o.presence(edgeId);
    const routing: RoutingSummary | undefined = view.telemetry?.routing;
    if (!routing?.device || !routing.baseline) {
      // Nothing to start from: hold, and say why (an older edge, or configs without drift.baseline).
      const why = !routing
        ? 'the edge reports no routing (not connected to the cloud broker, or an older edge)'
        : !routing.device
          ? "the edge does not know its devices' policy"
          : 'the edge reports no calibration baseline (its config has no drift.baseline: run fogline calibrate)';
      return this.#keep(edgeId, {
        action: 'hold',
        why,
        figures: unknownFigures(this.windows.records(edgeId).length),
      });
    }
    const row = await store.edgePolicies.get(edgeId);
    if (row?.directiveUnreadable && !row.pinned && !this.#unreadable.has(edgeId)) {
      this.#unreadable.add(edgeId); // once per edge: it counts as none, and the controller may replace it
      this.#o.log(`controller: edge '${edgeId}': its stored directive does not read; counted as none`);
    }
    const policy = { device: routing.device, edge: routing.edge };
    if (row?.directive && routing.directive !== row.directive.id && !row.pinned) {
      return this.#keep(edgeId, {
        action: 'hold',
        why: `waiting for the edge to apply ${row.directive.id}`,
        figures: decidePolicy({ ...this.#input(edgeId, policy, routing), state: HELD }).figures,
      });
    }
    const lastChange = this.#lastChangeMs.get(edgeId) ?? row?.lastChangeAt?.getTime();
    const decision = decidePolicy({
      ...this.#input(edgeId, policy, routing),
      state: {
        pinned: (row?.pinned ?? false) || routing.pinned,
        canary: (await this.#o.rolloutHolds?.(edgeId)) ?? false,
        driftAlarm: view.telemetry?.drift?.alarm ?? false,
        conservative: row?.conservative ?? false,
        ...(lastChange !== undefined && { lastChangeMs: lastChange }),
      },
      maxCloudShare: settings.cloudBudget,
    });
    if ((decision.action === 'conservative' || decision.action === 'refit') && decision.policy) {
      const id = `ctl-${Math.floor(clock.now())}-${++this.#seq}`;
      const to = { device: decision.policy.device, edge: decision.policy.edge };
      // Written only if the row is still unpinned with the directive read above, in the statement
      // that writes it: an operator's pin or set that landed meanwhile wins, whenever it landed.
      const written = await store.edgePolicies.change(
        edgeId,
        {
          source: 'controller',
          action: decision.action,
          from: policy,
          to,
          why: decision.why,
          figures: figuresJson(decision),
        },
        {
          directive: { id, reason: decision.why.slice(0, 500), ...to },
          conservative: decision.action === 'conservative',
        },
        { unpinned: true, directiveId: row?.storedDirectiveId ?? null },
      );
      if (!written) {
        const latest = await store.edgePolicies.get(edgeId);
        const why = `the edge's policy changed while the controller decided (now ${latest?.directive?.id ?? 'none'}${latest?.pinned ? ', pinned' : ''}); holding`;
        return this.#keep(edgeId, { action: 'hold', why, figures: decision.figures });
      }
      this.#lastChangeMs.set(edgeId, clock.now());
      this.#o.log(
        `controller: edge '${edgeId}' ${decision.action}: ${show(policy)} → ${show(to)} (${decision.why})`,
      );
      await this.#o.publish(edgeId);
    }
    await this.#keep(edgeId, decision);
  }

  #input(edgeId: string, policy: { device: ResolvedPolicy; edge: ResolvedPolicy }, routing: RoutingSummary) {
    return {
      records: ofNewestModels(this.windows.records(edgeId)),
      policy,
      baseline: routing.baseline!,
      maxCloudShare: this.#o.settings.cloudBudget,
      clock: this.#o.clock,
      ...(this.#o.settings.knobs && { knobs: this.#o.settings.knobs }),
    };
  }

  /** Keeps the decision for the API and the store; logs a weak reference when it starts. */
  async #keep(edgeId: string, decision: ControllerDecision): Promise<void> {
    const before = this.#control.get(edgeId);
    const weak = decision.action === 'report-weak-reference' ? decision.why : undefined;
    if (weak && !before?.weakReference) {
      this.#o.log(`controller: reference weak on this traffic (edge '${edgeId}'): ${weak}`);
    }
    this.#control.set(edgeId, { decision, weakReference: weak });
    await this.#o.store.edgePolicies.recordDecision(edgeId, {
      action: decision.action,
      why: decision.why,
      figures: figuresJson(decision),
    });
  }
}

/** Figures of a decision taken without deciding (nothing known beyond the record count). */
function unknownFigures(records: number): ControllerDecision['figures'] {
  const nothing = Number.NaN;
  return {
    records,
    nEff: 0,
    disagreement: { estimate: nothing, low: 0, high: 1 },
    share: { device: nothing, edge: nothing, cloud: nothing },
  };
}

const HELD = { pinned: true, canary: false, driftAlarm: false, conservative: false } as const;

const show = (p: { device: ResolvedPolicy; edge: ResolvedPolicy }) =>
  `device ${p.device.score} ≥ ${p.device.threshold.toFixed(3)}, edge ${p.edge.score} ≥ ${p.edge.threshold.toFixed(3)}`;

/** The figures as stored JSON (NaN, which JSON lacks, as null). */
function figuresJson(d: ControllerDecision): Record<string, unknown> {
  return JSON.parse(
    JSON.stringify(d.figures, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v)),
  );
}
