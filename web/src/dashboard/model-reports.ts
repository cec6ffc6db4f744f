/**
 * Quantization and calibration of the served models (docs/dashboard.md "Models"): per version its
 * precision (fp32, int8 static or dynamic, read from the ONNX graph by the cloud) and, from the
 * `fogline quantize` report beside it, size and accuracy fp32 → int8; per calibrated cascade, the
 * `fogline calibrate` report once for the models that carry it: the frontier (drawn here from the
 * report's numbers by the same code that writes the report's SVG), the chosen thresholds, objective,
 * accuracy and cloud share, and whether each config still holds those thresholds. Reports are read
 * again only when the served models or versions change.
 */
import { reportFrontierSvg } from '@fogline/toolchain/frontier-svg';
import { esc, modelReports } from './api.ts';
import type { CalibrationView, ModelReportsView, OutcomeView, RoutingStage } from './types.ts';

const pct = (v: number | null, digits = 2) => (v === null ? '–' : `${(v * 100).toFixed(digits)} %`);

/** A stage as a rule: "margin ≥ 0.3297", "answer all" (threshold 0), "escalate all" (above 1). */
export function stageRule(s: RoutingStage): string {
  if (s.threshold === null) return `${s.score}, uncalibrated`;
  if (s.threshold <= 0) return 'answer all';
  if (s.threshold > 1) return 'escalate all';
  return `${s.score} ≥ ${s.threshold.toFixed(4)}`;
}

export class ModelReportsPanel {
  private shownFor = '';

  constructor(private readonly root: HTMLElement) {}

  /** `served`: name:version of each served model; reports are fetched again when it changes. */
  async refresh(names: string[], served: string): Promise<void> {
    if (served === this.shownFor) return;
    const views = (await Promise.all(names.map(modelReports))).filter((v) => v !== null);
    this.root.innerHTML = `<div class="card section" style="padding:0" id="models-quantization">
        ${quantizationTable(views)}</div>
      <div class="card section" id="models-calibration"><h2>Calibration</h2>${calibrations(views)}</div>`;
    this.shownFor = served;
  }
}

function quantizationTable(views: ModelReportsView[]): string {
  const rows = views.flatMap((m) =>
    m.versions.map((v) => {
      const p = v.precision;
      const precision =
        p === null
          ? `<span class="muted" title="${esc(v.precisionError ?? 'too large to inspect')}">unknown</span>`
          : p.precision === 'int8'
            ? `<span class="pill online">int8</span> ${esc(p.scheme)}`
            : '<span class="pill">fp32</span>';
      const q = v.quantization;
      let report = '<td class="muted" colspan="3">no quantize report</td>';
      if (q !== null && 'error' in q) report = `<td class="error" colspan="3">${esc(q.error)}</td>`;
      else if (q !== null) {
        const held = q.comparisons.at(-1);
        const accuracy = held
          ? `${pct(held.fp32Accuracy)} → ${pct(held.int8Accuracy)} <span class="muted">on ${esc(held.source)}</span>`
          : '–';
        report = `<td>${(q.sizeRatio * 100).toFixed(1)} % <span class="muted">(${(q.int8Bytes / 1024).toFixed(0)} of
            ${(q.fp32Bytes / 1024).toFixed(0)} KiB)</span></td><td>${accuracy}</td>
          <td class="drop"><strong>${held?.accuracyDropPp?.toFixed(2) ?? '–'}</strong> pp</td>`;
      }
      return `<tr data-model="${esc(m.model)}" data-version="${v.version}"><td><strong>${esc(m.model)}</strong></td>
        <td>${v.version}</td><td>${esc(m.tier)}</td><td class="precision">${precision}</td>${report}</tr>`;
    }),
  );
  return `<table><thead><tr><th>model (quantization)</th><th>version</th><th>tier</th><th>precision</th>
    <th>size int8 / fp32</th><th>accuracy fp32 → int8</th><th>drop</th></tr></thead>
    <tbody>${rows.join('') || '<tr><td colspan="7" class="muted">no models</td></tr>'}</tbody></table>`;
}

/** One block per distinct report, naming the models that carry it; unusable reports as errors. */
function calibrations(views: ModelReportsView[]): string {
  const reports = new Map<string, { report: CalibrationView; models: ModelReportsView[] }>();
  const errors: string[] = [];
  for (const m of views) {
    const c = m.calibration;
    if (c === null) continue;
    if ('error' in c) errors.push(`<p class="error">${esc(m.model)}: ${esc(c.error)}</p>`);
    else {
      const entry = reports.get(c.sha256) ?? { report: c, models: [] };
      entry.models.push(m);
      reports.set(c.sha256, entry);
    }
  }
  if (reports.size === 0 && errors.length === 0) {
    return `<p class="muted">No calibration report in the model repository (<code>fogline calibrate</code>
      writes one beside each config it calibrates).</p>`;
  }
  // The cascade most served models were calibrated in first.
  const blocks = [...reports.values()].sort((a, b) => b.models.length - a.models.length);
  return blocks.map(({ report, models }) => calibrationBlock(report, models)).join('') + errors.join('');
}

function calibrationBlock(r: CalibrationView, models: ModelReportsView[]): string {
  const chosen = r.rows.find((row) => row.name === 'chosen');
  const cascade = r.tiers
    .map(
      (t) =>
        `${esc(t.model)}${t.version === null ? '' : ` v${t.version}`} <span class="muted">(${esc(t.role)})</span>`,
    )
    .join(' → ');
  const configs = models
    .map((m) => {
      const c = m.calibration as CalibrationView;
      const state =
        c.matchesConfig === null
          ? ''
          : c.matchesConfig
            ? '<span class="pill online">config holds them</span>'
            : `<span class="pill warn" title="config: ${esc(stageRule(m.routing))}">config differs</span>`;
      return `<li>${esc(m.model)} ${state}</li>`;
    })
    .join('');
  const facts = chosen
    ? `<dt>chosen</dt><dd class="thresholds">device ${esc(stageRule(chosen.policy!.device))};
        edge ${esc(stageRule(chosen.policy!.edge))}</dd>
      ${outcomeFacts('evaluated', r.evalSplit, chosen.evaluation)}${outcomeFacts('fitted', r.split, chosen.calibration)}`
    : '<dt>chosen</dt><dd class="error">no policy met the objective</dd>';
  return `<div class="calibration" data-models="${esc(models.map((m) => m.model).join(' '))}">
    <p>${cascade}</p>
    <div class="row"><div class="frontier">${reportFrontierSvg(r)}</div>
      <dl class="facts"><dt>objective</dt><dd class="objective">${esc(r.objective)}</dd>${facts}
        <dt>swept</dt><dd>${r.policiesSwept} policies; RTT device–edge ${r.network.deviceEdgeRttMs} ms,
          edge–cloud ${r.network.edgeCloudRttMs} ms</dd>
        <dt>models</dt><dd><ul class="changes">${configs}</ul></dd></dl></div></div>`;
}

function outcomeFacts(what: string, split: string, o: OutcomeView): string {
  return `<dt>${what}</dt><dd data-split="${what}"><span class="muted">on ${esc(split)}:</span>
    accuracy <strong>${pct(o.accuracy)}</strong>,
    cloud share <strong class="cloud-share">${pct(o.share.cloud)}</strong>
    <span class="muted">(device ${pct(o.share.device, 1)}, edge ${pct(o.share.edge, 1)});
    ${o.expectedLatencyMs.toFixed(2)} ms per input</span></dd>`;
}
