/** Writes a calibration report as <stem>.md, <stem>.svg (the frontier plot) and <stem>.json. */
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { routingOf } from './calibrated-config.ts';
import { type CalibrationReport, calibrationMarkdown } from './calibration-report.ts';
import type { CascadePolicy } from './cascade.ts';
import { frontierSvg, type Marker } from './frontier-svg.ts';

function markersOf(report: CalibrationReport): Marker[] {
  const markers: Marker[] = [];
  for (const row of report.rows) {
    if (row.name === 'chosen') {
      markers.push({ label: 'chosen (calibration)', outcome: row.calibration, style: 'chosen' });
      markers.push({ label: 'chosen (evaluation)', outcome: row.evaluation, style: 'chosen-eval' });
    } else {
      markers.push({
        label: row.name,
        outcome: row.calibration,
        style: row.name.startsWith('oracle') ? 'oracle' : 'baseline',
      });
    }
  }
  return markers;
}

export async function writeCalibrationReport(stem: string, report: CalibrationReport): Promise<string[]> {
  await mkdir(dirname(stem), { recursive: true });
  const title = `Cascade frontier: ${report.tiers.map((t) => t.model).join(' → ')} (${report.split})`;
  await writeFile(`${stem}.svg`, frontierSvg(report.frontier, markersOf(report), title));
  await writeFile(`${stem}.md`, calibrationMarkdown(report, `${basename(stem)}.svg`));
  // JSON has no Infinity: "escalate all" is written as the config threshold that means it.
  const policyJson = <T extends { policy?: CascadePolicy }>(x: T) =>
    x.policy ? { ...x, policy: { device: routingOf(x.policy.device), edge: routingOf(x.policy.edge) } } : x;
  const json = {
    ...report,
    rows: report.rows.map(policyJson),
    perScoreKind: report.perScoreKind.map(policyJson),
    frontier: report.frontier.map(policyJson),
  };
  await writeFile(`${stem}.json`, `${JSON.stringify(json, null, 2)}\n`);
  return [`${stem}.md`, `${stem}.svg`, `${stem}.json`];
}
