/**
 * The drift alarm remembered across restarts (`<dataDir>/drift-alarm.json`, 0600, written atomically;
 * docs/edge-agent.md "Drift"). While the alarm is on, the devices audit at its rate; an edge that
 * restarts meanwhile starts with a calm monitor and its broker's retained policy gone, so its devices
 * would keep that rate. The file exists while an alarm's rate may be on the devices: the device model
 * and the rate published before the alarm, so the restarted edge sends the calm rate it wants
 * (edge-drift.ts). A file that does not read is ignored with a warning.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { readPrivateJson, writePrivateFile } from '@fogline/shared/storage';

export const DRIFT_ALARM_FILE = 'drift-alarm.json';

export interface DriftAlarmRecord {
  /** `name:version` of the devices' model the alarm's rate was sent for. */
  readonly model: string;
  /** The audit rate published before the alarm; null: none. */
  readonly rateBefore: number | null;
}

/** The record, or undefined when there is none (no alarm's rate on the devices) or it does not read. */
export async function loadDriftAlarmRecord(
  dataDir: string,
  warn: (message: string) => void,
): Promise<DriftAlarmRecord | undefined> {
  const file = join(dataDir, DRIFT_ALARM_FILE);
  const raw = await readPrivateJson(file, warn);
  if (raw === undefined) return undefined;
  const r = raw as Partial<Record<keyof DriftAlarmRecord, unknown>> | null;
  const rate = r?.rateBefore;
  if (
    typeof r?.model !== 'string' ||
    !(rate === null || (typeof rate === 'number' && rate >= 0 && rate <= 1))
  ) {
    warn(`${file} ignored: it must be {"model": "name:version", "rateBefore": a rate in [0, 1] or null}`);
    return undefined;
  }
  return { model: r.model, rateBefore: rate };
}

/** Writes the record; undefined removes it (the alarm's rate is off the devices). */
export async function saveDriftAlarmRecord(
  dataDir: string,
  record: DriftAlarmRecord | undefined,
): Promise<void> {
  const file = join(dataDir, DRIFT_ALARM_FILE);
  if (record === undefined) await rm(file, { force: true });
  else await writePrivateFile(file, `${JSON.stringify(record)}\n`);
}
