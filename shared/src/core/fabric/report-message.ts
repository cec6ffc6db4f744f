/**
 * Reports a device sends its edge on `topics.report(deviceId)` (docs/design.md "Protocols"): the
 * lowest-priority traffic of the fabric, for audits, score histograms and the application's
 * ground truth (`feedback`: an audit body with `source: 'feedback'` and the true `label`). UTF-8 JSON:
 *
 *   { "kind": "histogram" | "audit" | "feedback", "body": { ... } }
 *
 * Only the envelope is defined here; what a body holds belongs to the piece that sends that kind.
 * A reader tells a malformed report from one of a kind it does not know (a newer device), so the
 * receiver can count both and ignore them.
 */
import { FoglineError } from '../errors.ts';

export const REPORT_KINDS = Object.freeze(['histogram', 'audit', 'feedback'] as const);
export type ReportKind = (typeof REPORT_KINDS)[number];

export interface DeviceReport {
  readonly kind: ReportKind;
  readonly body: Readonly<Record<string, unknown>>;
}

/** Largest report a reader looks at (an audit may carry one input). */
export const MAX_REPORT_BYTES = 64 * 1024;

export type ReportReading =
  | { readonly ok: true; readonly report: DeviceReport }
  | { readonly ok: false; readonly reason: 'malformed' | 'unknown-kind'; readonly detail: string };

function isReportKind(v: unknown): v is ReportKind {
  return typeof v === 'string' && (REPORT_KINDS as readonly string[]).includes(v);
}

export function encodeDeviceReport(report: DeviceReport): Uint8Array {
  const payload = new TextEncoder().encode(JSON.stringify({ kind: report.kind, body: report.body }));
  const reading = readDeviceReport(payload);
  if (!reading.ok) throw new FoglineError('INVALID_ARG', `device report: ${reading.detail}`);
  return payload;
}

/** Reads an untrusted report. */
export function readDeviceReport(payload: Uint8Array): ReportReading {
  const malformed = (detail: string): ReportReading => ({ ok: false, reason: 'malformed', detail });
  if (payload.byteLength > MAX_REPORT_BYTES) {
    return malformed(`${payload.byteLength} bytes, more than ${MAX_REPORT_BYTES}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch {
    return malformed('not UTF-8 JSON');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return malformed('not a JSON object');
  const { kind, body } = raw as Record<string, unknown>;
  if (typeof kind !== 'string') return malformed('"kind" must be a string');
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return malformed('"body" must be an object');
  }
  if (!isReportKind(kind)) {
    return { ok: false, reason: 'unknown-kind', detail: `unknown kind ${JSON.stringify(kind).slice(0, 40)}` };
  }
  return { ok: true, report: Object.freeze({ kind, body: body as Record<string, unknown> }) };
}
