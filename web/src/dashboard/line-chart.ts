/**
 * A small SVG line chart: a few named series over the same x positions, y scaled to the data; a
 * value that is not a number (NaN: nothing to show then) leaves a gap. Marks are vertical lines at
 * an x position (fractional: between two points) with a title the browser shows on hover.
 */
import { esc } from './api.ts';

export interface Mark {
  /** Position among the values, 0 … n − 1 (of the longest series). */
  x: number;
  title: string;
}

export interface Series {
  name: string;
  color: string;
  values: number[];
}

const W = 600;
const H = 180;
const PAD = { left: 44, right: 8, top: 10, bottom: 18 };

export function lineChart(series: Series[], unit: string, marks: Mark[] = []): string {
  const n = Math.max(2, ...series.map((s) => s.values.length));
  const max = Math.max(1e-9, ...series.flatMap((s) => s.values.filter(Number.isFinite)));
  const top = niceCeil(max);
  const x = (i: number) => PAD.left + (i / (n - 1)) * (W - PAD.left - PAD.right);
  const y = (v: number) => H - PAD.bottom - (v / top) * (H - PAD.top - PAD.bottom);
  const grid = [0, 0.5, 1]
    .map((f) => {
      const v = top * f;
      return `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y(v)}" y2="${y(v)}" stroke="#e2e5eb"/>
        <text x="${PAD.left - 6}" y="${y(v) + 4}" text-anchor="end" font-size="11" fill="#6a7285">${fmt(v)}</text>`;
    })
    .join('');
  const lines = series
    .map((s) => {
      const offset = n - s.values.length;
      const points = s.values
        .map((v, i) => (Number.isFinite(v) ? `${x(i + offset).toFixed(1)},${y(v).toFixed(1)}` : ''))
        .filter((p) => p !== '')
        .join(' ');
      return `<polyline data-series="${s.name}" points="${points}" fill="none" stroke="${s.color}" stroke-width="2"/>`;
    })
    .join('');
  const markLines = marks
    .map((m) => {
      const mx = x(m.x).toFixed(1);
      // A wide transparent line under the visible one, so that the title is easy to hover.
      return `<g class="mark"><title>${esc(m.title)}</title>
        <line x1="${mx}" x2="${mx}" y1="${PAD.top}" y2="${H - PAD.bottom}" stroke="transparent" stroke-width="10"/>
        <line x1="${mx}" x2="${mx}" y1="${PAD.top}" y2="${H - PAD.bottom}" stroke="#1d2330" stroke-width="1.5" stroke-dasharray="4 3"/></g>`;
    })
    .join('');
  const legend = series.map((s) => `<span><i style="background:${s.color}"></i>${s.name}</span>`).join('');
  return `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${unit}">${grid}${lines}${markLines}
    <text x="${W - PAD.right}" y="${H - 4}" text-anchor="end" font-size="11" fill="#6a7285">${unit}</text></svg>
    <div class="legend">${legend}</div>`;
}

function niceCeil(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

function fmt(v: number): string {
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}
