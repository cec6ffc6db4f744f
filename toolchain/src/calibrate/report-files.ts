/**
 * Writes a calibration report as <stem>.md, <stem>.svg (the frontier plot) and <stem>.json; the same
 * JSON is what `fogline calibrate` leaves beside the configs it wrote (`<repo>/<model>/calibration.json`).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { routingOf } from './calibrated-config.ts';
import { type CalibrationReport, calibrationMarkdown } from './calibration-report.ts';
import type { CascadePolicy } from './cascade.ts';
import { reportFrontierSvg } from './frontier-svg.ts';

export async function writeCalibrationReport(stem: string, report: CalibrationReport): Promise<string[]> {
  await mkdir(dirname(stem), { recursive: true });
  await writeFile(`${stem}.svg`, reportFrontierSvg(report));
  await writeFile(`${stem}.md`, calibrationMarkdown(report, `${basename(stem)}.svg`));
  await writeFile(`${stem}.json`, calibrationReportJson(report));
  return [`${stem}.md`, `${stem}.svg`, `${stem}.json`];
}

/** The report as JSON text. */
export function calibrationReportJson(report: CalibrationReport): string {
  // JSON has no Infinity: "escalate all" is written as the config threshold that means it.
  const policyJson = <T extends { policy?: CascadePolicy }>(x: T) =>
    x.policy ? { ...x, policy: { device: routingOf(x.policy.device), edge: routingOf(x.policy.edge) } } : x;
  const json = {
    ...report,
    rows: report.rows.map(policyJson),
    perScoreKind: report.perScoreKind.map(policyJson),
    frontier: report.frontier.map(policyJson),
  };
  return `${JSON.stringify(json, null, 2)}\n`;
}
