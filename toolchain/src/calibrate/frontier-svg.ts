/**
 * SVG plot of the cascade frontier: accuracy against expected latency (log scale), with the chosen
 * policy (on the calibration and the evaluation split) and the baselines marked. Pure (no Node
 * imports): `fogline calibrate` writes it as <stem>.svg, and the dashboard draws the same plot in
 * the page from a report's JSON (`@fogline/toolchain/frontier-svg`), every text escaped.
 */
import type { CascadeOutcome } from './cascade.ts';

/** What the plot reads of a calibration report (CalibrationReport, or its JSON as the cloud checked it). */
export interface FrontierReport {
  readonly split: string;
  readonly tiers: readonly { readonly model: string }[];
  readonly rows: readonly {
    readonly name: string;
    readonly calibration: CascadeOutcome;
    readonly evaluation: CascadeOutcome;
  }[];
  readonly frontier: readonly { readonly outcome: CascadeOutcome }[];
}

export interface Marker {
  readonly label: string;
  readonly outcome: CascadeOutcome;
  readonly style: 'chosen' | 'chosen-eval' | 'baseline' | 'oracle';
}

const W = 840;
const H = 460;
const M = { left: 70, right: 250, top: 40, bottom: 55 };

const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The chosen policy on both splits, then the baselines and the oracle, on the calibration split. */
function markersOf(report: FrontierReport): Marker[] {
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

/** The report's frontier plot, titled with its cascade and split. */
export function reportFrontierSvg(report: FrontierReport): string {
  const title = `Cascade frontier: ${report.tiers.map((t) => t.model).join(' → ')} (${report.split})`;
  return frontierSvg(report.frontier, markersOf(report), title);
}

export function frontierSvg(
  frontier: FrontierReport['frontier'],
  markers: readonly Marker[],
  title: string,
): string {
  const all = [...frontier.map((p) => p.outcome), ...markers.map((m) => m.outcome)];
  const lat = all.map((o) => Math.max(o.expectedLatencyMs, 1e-3));
  const acc = all.map((o) => o.accuracy * 100);
  const x0 = Math.log10(Math.min(...lat) / 1.3);
  const x1 = Math.log10(Math.max(...lat) * 1.3);
  const yPad = Math.max(0.2, (Math.max(...acc) - Math.min(...acc)) * 0.08);
  const y0 = Math.min(...acc) - yPad;
  const y1 = Math.max(...acc) + yPad;
  const px = (ms: number): number =>
    M.left + ((Math.log10(Math.max(ms, 1e-3)) - x0) / (x1 - x0)) * (W - M.left - M.right);
  const py = (a: number): number => H - M.bottom - ((a * 100 - y0) / (y1 - y0)) * (H - M.top - M.bottom);

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2 - M.right / 2}" y="22" text-anchor="middle" font-size="14">${esc(title)}</text>`,
  ];
  for (let e = Math.ceil(x0); e <= Math.floor(x1); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (Math.log10(v) < x0 || Math.log10(v) > x1) continue;
      const x = px(v).toFixed(1);
      out.push(`<line x1="${x}" y1="${M.top}" x2="${x}" y2="${H - M.bottom}" stroke="#eee"/>`);
      out.push(
        `<text x="${x}" y="${H - M.bottom + 16}" text-anchor="middle">${v < 1 ? v.toFixed(Math.max(0, -e)) : v}</text>`,
      );
    }
  }
  const step = y1 - y0 > 8 ? 2 : y1 - y0 > 3 ? 1 : 0.5;
  for (let a = Math.ceil(y0 / step) * step; a <= y1; a += step) {
    const y = py(a / 100).toFixed(1);
    out.push(`<line x1="${M.left}" y1="${y}" x2="${W - M.right}" y2="${y}" stroke="#eee"/>`);
    out.push(
      `<text x="${M.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${a.toFixed(1)}</text>`,
    );
  }
  out.push(
    `<rect x="${M.left}" y="${M.top}" width="${W - M.left - M.right}" height="${H - M.top - M.bottom}" fill="none" stroke="#999"/>`,
    `<text x="${(M.left + W - M.right) / 2}" y="${H - 15}" text-anchor="middle">expected latency per input (ms, log scale)</text>`,
    `<text x="18" y="${(M.top + H - M.bottom) / 2}" text-anchor="middle" transform="rotate(-90 18 ${(M.top + H - M.bottom) / 2})">accuracy (%)</text>`,
  );
  const path = frontier
    .map((p) => `${px(p.outcome.expectedLatencyMs).toFixed(1)},${py(p.outcome.accuracy).toFixed(1)}`)
    .join(' ');
  out.push(`<polyline points="${path}" fill="none" stroke="#4477aa" stroke-width="1.5"/>`);
  for (const p of frontier) {
    out.push(
      `<circle cx="${px(p.outcome.expectedLatencyMs).toFixed(1)}" cy="${py(p.outcome.accuracy).toFixed(1)}" r="2" fill="#4477aa"/>`,
    );
  }
  const styles = {
    chosen: { fill: '#cc3311', stroke: '#cc3311', size: 7 },
    'chosen-eval': { fill: 'none', stroke: '#cc3311', size: 7 },
    baseline: { fill: '#555', stroke: '#555', size: 5 },
    oracle: { fill: '#228833', stroke: '#228833', size: 6 },
  } as const;
  const symbol = (m: Marker, x: number, y: number): string => {
    const s = styles[m.style];
    const shape =
      m.style === 'baseline'
        ? `<rect x="${(x - s.size / 2).toFixed(1)}" y="${(y - s.size / 2).toFixed(1)}" width="${s.size}" height="${s.size}"`
        : `<path d="M${x.toFixed(1)},${(y - s.size).toFixed(1)} L${(x + s.size).toFixed(1)},${y.toFixed(1)} L${x.toFixed(1)},${(y + s.size).toFixed(1)} L${(x - s.size).toFixed(1)},${y.toFixed(1)} Z"`;
    return `${shape} fill="${s.fill}" stroke="${s.stroke}" stroke-width="1.5"/>`;
  };
  const legendX = W - M.right + 18;
  out.push(
    `<line x1="${legendX - 8}" y1="${M.top + 10}" x2="${legendX + 8}" y2="${M.top + 10}" stroke="#4477aa" stroke-width="1.5"/>`,
  );
  out.push(
    `<text x="${legendX + 14}" y="${M.top + 14}" font-size="10">frontier (${frontier.length} policies)</text>`,
  );
  markers.forEach((m, i) => {
    const x = px(m.outcome.expectedLatencyMs);
    const y = py(m.outcome.accuracy);
    out.push(symbol(m, x, y));
    if (m.style === 'baseline' || m.style === 'oracle') {
      const nearRight = x > W - M.right - 80;
      const anchor = nearRight ? ' text-anchor="end"' : '';
      const tx = (nearRight ? x - 8 : x + 8).toFixed(1);
      out.push(
        `<text x="${tx}" y="${(y - 6).toFixed(1)}" font-size="10" fill="#555"${anchor}>${esc(m.label)}</text>`,
      );
    }
    const ly = M.top + 32 + i * 20;
    out.push(symbol(m, legendX, ly));
    const text = `${m.label}: ${(m.outcome.accuracy * 100).toFixed(2)} %, ${m.outcome.expectedLatencyMs.toFixed(2)} ms`;
    out.push(`<text x="${legendX + 14}" y="${ly + 4}" font-size="10">${esc(text)}</text>`);
  });
  out.push('</svg>', '');
  return out.join('\n');
}
