/**
 * Drift on a running edge (docs/edge-agent.md "Drift"): the drift monitor on the edge config's drift
 * reference, fed the devices' histogram reports, and the devices' audit rate raised while the alarm
 * is on: the device policy this edge last published is published again with `alarmAuditRate`, and
 * once it clears with the calm rate set on purpose (the operator's, else the edge's own; audit-rate.ts),
 * else the rate from before the alarm, else `calmAuditRate`. While an alarm's rate may be on the
 * devices, `<dataDir>/drift-alarm.json` says so (drift-alarm-record.ts): an edge restarted during an
 * alarm starts calm, so it sends its devices that calm rate at start, and so does one started with
 * drift off (calmLeftAlarm), which then drops the file. The policy itself never
 * changes here: an edge that has published no policy for the device model sends the audit rate alone,
 * and each device keeps the routing it applies (its application's `policy`, its config's), which the
 * edge does not know.
 */
import {
  type DriftReference,
  driftModelOf,
  fromUnknown,
  type PolicyMessage,
  type ResolvedPolicy,
  resolvePolicy,
} from '@fogline/shared';
import type { ModelRepository } from '@fogline/shared/model-repository';
import type { AgentLogger } from './agent-options.ts';
import { type DriftAlarmRecord, loadDriftAlarmRecord, saveDriftAlarmRecord } from './drift-alarm-record.ts';
import { DriftMonitor, type DriftOptions, type DriftStatus, resolveDriftSettings } from './drift-monitor.ts';
import type { DriftTelemetry } from './edge-telemetry.ts';
import type { RoutingChange } from './routing-control.ts';

export interface EdgeDriftDeps {
  /** The edge model config's `drift` block; undefined: no monitor. */
  readonly reference: DriftReference | undefined;
  /** The agent's `drift` option; false: no monitor. */
  readonly options: DriftOptions | false | undefined;
  readonly logger: AgentLogger;
  readonly now?: () => number;
  /** The device policy this edge last published, if any. */
  readonly published: () => PolicyMessage | undefined;
  /** `policy` undefined: the audit rate alone. */
  readonly publish: (
    policy: ResolvedPolicy | undefined,
    options: { model: string; auditRate: number },
  ) => Promise<PolicyMessage>;
  /** The calm rate set on purpose (audit-rate.ts `calm()`); undefined: none. */
  readonly calmRate?: () => number | undefined;
  /** Where the alarm is remembered across restarts; undefined: nowhere. */
  readonly dataDir?: string;
  /** Told of every alarm change, after the audit rate's publish has started (later F7 pieces). */
  readonly listeners?: ReadonlySet<DriftAlarmListener>;
}

export type DriftAlarmListener = (alarm: boolean, status: DriftStatus) => void;

/** The monitor, or undefined when the edge has no drift reference or the option turns it off. */
export function createEdgeDrift(deps: EdgeDriftDeps): DriftMonitor | undefined {
  const { reference, logger } = deps;
  if (!reference || deps.options === false) {
    calmLeftAlarm(deps);
    return undefined;
  }
  const settings = resolveDriftSettings(deps.options);
  const model = driftModelOf(reference);
  let rateBefore: number | undefined;
  // Writes of the record, in order (an alarm's, then its clear's).
  let disk: Promise<unknown> = Promise.resolve();
  const remember = (record: DriftAlarmRecord | undefined) => {
    const { dataDir } = deps;
    if (dataDir === undefined) return;
    disk = disk
      .then(() => saveDriftAlarmRecord(dataDir, record))
      .catch((err: Error) => logger.warn(`drift: could not remember the alarm: ${err.message}`));
  };
  const setAuditRate = (alarm: boolean) => {
    const last = deps.published();
    const current = last?.model === model ? last : undefined;
    if (alarm) {
      rateBefore = current?.audit_rate;
      remember({ model, rateBefore: rateBefore ?? null });
    }
    const auditRate = alarm
      ? settings.alarmAuditRate
      : (deps.calmRate?.() ?? rateBefore ?? settings.calmAuditRate);
    // Never the calibrated policy in place of none: a device escalating everything by its own
    // policy would then answer alone, on the very inputs the alarm says it knows least.
    deps.publish(current?.policy, { model, auditRate }).then(
      () => !alarm && remember(undefined),
      (err: Error) => logger.warn(`drift: could not publish the audit rate: ${err.message}`),
    );
  };
  const monitor = new DriftMonitor({
    reference,
    settings,
    logger,
    ...(deps.now && { now: deps.now }),
    onAlarm: (alarm, status) => {
      setAuditRate(alarm);
      for (const listener of deps.listeners ?? []) {
        try {
          listener(alarm, status);
        } catch (err) {
          logger.warn(`a drift listener failed: ${String(err)}`);
        }
      }
    },
  });
  if (deps.dataDir !== undefined) {
    void loadDriftAlarmRecord(deps.dataDir, (m) => logger.warn(`drift: ${m}`)).then((record) => {
      // Started during an alarm: the devices may still audit at its rate. Calm now (a new alarm sends
      // its own rate), so they get the calm one, as if the alarm had cleared.
      if (!record || monitor.status().alarm) return;
      if (record.model !== model) return remember(undefined);
      rateBefore = record.rateBefore ?? undefined;
      const calm = deps.calmRate?.() ?? rateBefore ?? settings.calmAuditRate;
      logger.info(`drift: restarted during an alarm; sending the devices the calm audit rate ${calm}`);
      setAuditRate(false);
    });
  }
  return monitor;
}

/**
 * Drift is off (no drift reference, or `drift: false`) but the record of an alarm is left from a run
 * with it on: the devices may still audit at the alarm's rate, and no monitor will ever clear it. They
 * get the calm rate, as from an edge restarted during an alarm, and the record goes once it is sent.
 */
function calmLeftAlarm(deps: EdgeDriftDeps): void {
  const { dataDir, logger } = deps;
  if (dataDir === undefined) return;
  void loadDriftAlarmRecord(dataDir, (m) => logger.warn(`drift: ${m}`)).then(async (record) => {
    if (!record) return;
    // With a reference (drift turned off), a record of another devices' model is stale: dropped.
    const model = deps.reference ? driftModelOf(deps.reference) : record.model;
    try {
      if (record.model === model) {
        const settings = resolveDriftSettings(deps.options || undefined);
        const auditRate = deps.calmRate?.() ?? record.rateBefore ?? settings.calmAuditRate;
        logger.info(`drift: off, and an alarm's rate was left on the devices; sending them ${auditRate}`);
        const last = deps.published();
        await deps.publish(last?.model === model ? last.policy : undefined, { model, auditRate });
      }
      await saveDriftAlarmRecord(dataDir, undefined);
    } catch (err) {
      logger.warn(`drift: could not clear the alarm left from before: ${fromUnknown(err).message}`);
    }
  });
}

/**
 * Tells the monitor when the routing of the edge or its devices really moves (score kind or
 * threshold; a republish that only changes the audit rate does not count, nor the first publish of
 * the devices' calibrated policy `devicesBefore`): the settle rule waits for the controller to have
 * acted on an alarm (drift-monitor.ts).
 */
export function watchRouting(
  routing: { listen: (listener: (change: RoutingChange) => void) => () => void },
  drift: DriftMonitor,
  devicesBefore: ResolvedPolicy | undefined,
): () => void {
  return routing.listen((c) => {
    const from = c.from ?? (c.target === 'devices' ? devicesBefore : undefined);
    if (from === undefined || from.score !== c.to.score || from.threshold !== c.to.threshold) {
      drift.routingChanged();
    }
  });
}

/** A model's calibrated routing from the repository (none for a model it lacks or an uncalibrated one). */
export function calibratedPolicyOf(
  repository: ModelRepository,
  name: string | undefined,
): ResolvedPolicy | undefined {
  if (name === undefined || !repository.has(name)) return undefined;
  const { routing } = repository.get(name).config;
  return routing.threshold === null ? undefined : resolvePolicy(routing);
}

/** The drift part of the edge's telemetry message. */
export function driftTelemetry(s: DriftStatus): DriftTelemetry {
  return {
    model: s.model,
    alarm: s.alarm,
    psi: s.lastPsi ?? null,
    windows: s.windowsClosed,
    alarms: s.alarms,
    ...(s.since && { since: s.since.toISOString() }),
  };
}
