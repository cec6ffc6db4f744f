/**
 * The live view's field accuracy (F7): per edge and tier, the agreement with the truth over the
 * edge's audit window with its 95 % Wilson interval (a bar from low to high, a dot at the estimate)
 * and the records n, beside the edge's drift alarm, and the rate its devices audit at with why
 * (the edge's own, an operator's, or raised by a drift alarm).
 */
import { esc } from './api.ts';
import type { LiveEdge, TierFieldView } from './types.ts';

const TIERS = ['device', 'edge', 'cloud'] as const;
const BAR = { w: 120, h: 14 };

export function fieldPanel(edges: readonly LiveEdge[]): string {
  if (edges.length === 0) return '<p class="muted">no edges yet</p>';
  const rows = edges
    .map(
      (e) => `<tr data-edge="${esc(e.id)}"><td>${esc(e.id)}</td><td>${drift(e)}</td>
        ${TIERS.map((t) => `<td class="field-cell" data-tier="${t}">${tierCell(e.field?.tiers[t])}</td>`).join('')}
        <td class="audits">${audits(e)}</td></tr>`,
    )
    .join('');
  return `<table class="field"><thead><tr><th>edge</th><th>drift</th><th>device</th><th>edge</th>
    <th>cloud</th><th>audits</th></tr></thead><tbody>${rows}</tbody></table>
    <p class="muted">Agreement with the truth (ground truth where given, else the cloud's reference) over
    each edge's audit window: estimate, 95 % Wilson interval, records n. Audits: records in the window,
    and the share of requests the edge's devices audit now, with why (edge, operator, drift-alarm).</p>`;
}

function audits(e: LiveEdge): string {
  const records = `<span class="muted">${e.field ? e.field.records : '—'}</span>`;
  if (!e.audit) return records;
  const rate = `${+(e.audit.rate * 100).toFixed(1)} %`;
  return `${records}<div class="audit-rate" data-source="${esc(e.audit.source)}">${rate} <span class="muted">(${esc(e.audit.source)})</span></div>`;
}

function drift(e: LiveEdge): string {
  if (!e.drift) return '<span class="muted">—</span>';
  const psi = e.drift.psi === null ? '' : ` title="PSI ${e.drift.psi.toFixed(3)} on ${esc(e.drift.model)}"`;
  return e.drift.alarm
    ? `<span class="pill offline"${psi}>alarm</span>`
    : `<span class="pill online"${psi}>ok</span>`;
}

function tierCell(t: TierFieldView | undefined): string {
  if (!t || t.n === 0 || t.agreement === null) return '<span class="muted">no audits</span>';
  const pct = (v: number) => `${(v * 100).toFixed(1)} %`;
  const low = t.low ?? 0;
  const high = t.high ?? 1;
  const x = (v: number) => (v * BAR.w).toFixed(1);
  const bar = `<svg class="interval" width="${BAR.w}" height="${BAR.h}" viewBox="0 0 ${BAR.w} ${BAR.h}" aria-hidden="true">
    <line x1="0" x2="${BAR.w}" y1="7" y2="7" stroke="#e2e5eb" stroke-width="4"/>
    <line x1="${x(low)}" x2="${x(high)}" y1="7" y2="7" stroke="#2f6fde" stroke-width="4"/>
    <circle cx="${x(t.agreement)}" cy="7" r="4" fill="#1d2330"/></svg>`;
  return `<div>${pct(t.agreement)} <span class="muted">[${pct(low)}, ${pct(high)}] n = ${t.n}</span></div>${bar}`;
}
