/**
 * The drift bench's plot: per shift, two panels over the stream's windows — accuracy minus
 * always-cloud (pp), controller off and on, with the −0.3 pp line; and the share the cloud answered
 * and the audit rate. Drawn as the calibration frontier is (toolchain/src/calibrate/frontier-svg.ts):
 * plain SVG, grid in #eee, frame in #999, the same palette.
 */

export interface Series {
  readonly label: string;
  readonly color: string;
  readonly dashed?: boolean;
  /** [x, y] points, x in requests. */
  readonly points: readonly (readonly [number, number])[];
}

export interface Panel {
  readonly title: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
  /** Horizontal reference lines (y) and vertical markers (x), each with a label. */
  readonly hLines?: readonly { readonly y: number; readonly label: string }[];
  readonly vLines?: readonly { readonly x: number; readonly label: string }[];
}

const W = 840;
const PANEL_H = 230;
const M = { left: 70, right: 190, top: 34, bottom: 40 };

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function niceStep(span: number): number {
  const raw = span / 5;
  const p = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) ?? raw;
}

function panelSvg(panel: Panel, top: number): string[] {
  const xs = panel.series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = [
    ...panel.series.flatMap((s) => s.points.map((p) => p[1])),
    ...(panel.hLines ?? []).map((h) => h.y),
  ];
  const x0 = Math.min(0, ...xs);
  const x1 = Math.max(...xs);
  const pad = Math.max(0.5, (Math.max(...ys) - Math.min(...ys)) * 0.08);
  const y0 = Math.min(...ys) - pad;
  const y1 = Math.max(...ys) + pad;
  const bottom = top + PANEL_H - M.bottom;
  const px = (x: number) => M.left + ((x - x0) / (x1 - x0)) * (W - M.left - M.right);
  const py = (y: number) => bottom - ((y - y0) / (y1 - y0)) * (bottom - top - M.top);
  const out: string[] = [
    `<text x="${(M.left + W - M.right) / 2}" y="${top + 20}" text-anchor="middle" font-size="13">${esc(panel.title)}</text>`,
  ];
  const ys_ = niceStep(y1 - y0);
  for (let y = Math.ceil(y0 / ys_) * ys_; y <= y1; y += ys_) {
    out.push(
      `<line x1="${M.left}" y1="${py(y).toFixed(1)}" x2="${W - M.right}" y2="${py(y).toFixed(1)}" stroke="#eee"/>`,
      `<text x="${M.left - 6}" y="${py(y).toFixed(1)}" text-anchor="end" dominant-baseline="middle">${+y.toFixed(2)}</text>`,
    );
  }
  const xs_ = niceStep(x1 - x0);
  for (let x = Math.ceil(x0 / xs_) * xs_; x <= x1; x += xs_) {
    out.push(
      `<line x1="${px(x).toFixed(1)}" y1="${top + M.top}" x2="${px(x).toFixed(1)}" y2="${bottom}" stroke="#eee"/>`,
      `<text x="${px(x).toFixed(1)}" y="${bottom + 15}" text-anchor="middle">${x}</text>`,
    );
  }
  out.push(
    `<rect x="${M.left}" y="${top + M.top}" width="${W - M.left - M.right}" height="${bottom - top - M.top}" fill="none" stroke="#999"/>`,
    `<text x="${(M.left + W - M.right) / 2}" y="${bottom + 32}" text-anchor="middle">requests</text>`,
    `<text x="18" y="${(top + M.top + bottom) / 2}" text-anchor="middle" transform="rotate(-90 18 ${(top + M.top + bottom) / 2})">${esc(panel.yLabel)}</text>`,
  );
  for (const h of panel.hLines ?? []) {
    out.push(
      `<line x1="${M.left}" y1="${py(h.y).toFixed(1)}" x2="${W - M.right}" y2="${py(h.y).toFixed(1)}" stroke="#228833" stroke-dasharray="5 3"/>`,
      `<text x="${W - M.right - 4}" y="${(py(h.y) - 4).toFixed(1)}" text-anchor="end" font-size="10" fill="#228833">${esc(h.label)}</text>`,
    );
  }
  for (const v of panel.vLines ?? []) {
    out.push(
      `<line x1="${px(v.x).toFixed(1)}" y1="${top + M.top}" x2="${px(v.x).toFixed(1)}" y2="${bottom}" stroke="#555" stroke-dasharray="2 3"/>`,
      `<text x="${(px(v.x) + 4).toFixed(1)}" y="${top + M.top + 12}" font-size="10" fill="#555">${esc(v.label)}</text>`,
    );
  }
  panel.series.forEach((s, i) => {
    const path = s.points.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ');
    const dash = s.dashed ? ' stroke-dasharray="6 3"' : '';
    out.push(`<polyline points="${path}" fill="none" stroke="${s.color}" stroke-width="1.8"${dash}/>`);
    const ly = top + M.top + 12 + i * 18;
    const lx = W - M.right + 14;
    out.push(
      `<line x1="${lx}" y1="${ly}" x2="${lx + 18}" y2="${ly}" stroke="${s.color}" stroke-width="1.8"${dash}/>`,
      `<text x="${lx + 24}" y="${ly + 4}" font-size="10">${esc(s.label)}</text>`,
    );
  });
  return out;
}

/** Panels stacked top to bottom in one SVG. */
export function driftSvg(title: string, panels: readonly Panel[]): string {
  const H = 36 + panels.length * PANEL_H;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="14">${esc(title)}</text>`,
    ...panels.flatMap((p, i) => panelSvg(p, 30 + i * PANEL_H)),
    '</svg>',
    '',
  ];
  return out.join('\n');
}
