/**
 * The edge's end of the device → edge report channel (docs/edge-agent.md "Reports from devices"):
 * every report read through the core's one strict reader, counted by kind; malformed reports and
 * kinds this edge does not know are counted and ignored. What a report holds is for the pieces that
 * listen (`onReport`); the inbox only counts and hands on. It never throws and keeps nothing.
 */
import { type DeviceReport, deviceIdOf, type ReportKind, readDeviceReport } from '@fogline/shared';

export interface ReportCounts {
  /** Reports read, by kind. */
  readonly accepted: Readonly<Record<ReportKind, number>>;
  /** Not a report (bad JSON, no kind or body, too big). */
  readonly malformed: number;
  /** A kind this edge does not know (a newer device): ignored. */
  readonly unknownKind: number;
  /** Dropped over the per-device report bucket by the embedded broker (undefined: external broker). */
  readonly dropped: number | undefined;
}

export type ReportListener = (deviceId: string, report: DeviceReport) => void;

export class ReportInbox {
  readonly #accepted: Record<ReportKind, number> = { histogram: 0, audit: 0, feedback: 0 };
  readonly #listeners = new Set<ReportListener>();
  #malformed = 0;
  #unknownKind = 0;

  constructor(private readonly onListenerError: (err: unknown) => void = () => {}) {}

  /** One message of a report topic; `topic` names the device (the broker's ACL made sure of it). */
  receive(payload: Uint8Array, topic: string): void {
    const deviceId = deviceIdOf(topic);
    const reading = readDeviceReport(payload);
    if (deviceId === undefined || (!reading.ok && reading.reason === 'malformed')) {
      this.#malformed++;
      return;
    }
    if (!reading.ok) {
      this.#unknownKind++;
      return;
    }
    this.#accepted[reading.report.kind]++;
    for (const listener of this.#listeners) {
      try {
        listener(deviceId, reading.report);
      } catch (err) {
        this.onListenerError(err);
      }
    }
  }

  /** Calls `listener` with every report read from now on; returns its removal. */
  listen(listener: ReportListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  counts(dropped: number | undefined): ReportCounts {
    return {
      accepted: { ...this.#accepted },
      malformed: this.#malformed,
      unknownKind: this.#unknownKind,
      dropped,
    };
  }
}
