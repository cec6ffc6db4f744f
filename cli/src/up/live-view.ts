/**
 * The terminal view of `fogline up`: per tier the share of requests, accuracy against the labels and
 * p50/p99 latency; cloud calls saved versus always-cloud; breaker state; the URLs. Pure text: the
 * caller decides whether to redraw in place (TTY) or print now and then (logs, CI).
 */
import { formatTable } from '../format.ts';
import type { TallySummary } from './cascade-tally.ts';

export interface ViewContext {
  elapsedS: number;
  durationS: number | null;
  devices: number;
  ratePerDevice: number;
  breaker: string;
  edgeOnline: boolean;
  urls: Record<string, string>;
}

const pct = (v: number | null) => (v === null ? '—' : `${(v * 100).toFixed(1)} %`);
const ms = (v: number | null) => (v === null ? '—' : `${v.toFixed(1)} ms`);

export function renderView(s: TallySummary, ctx: ViewContext): string {
  const clock =
    ctx.durationS === null ? `${ctx.elapsedS.toFixed(0)} s` : `${ctx.elapsedS.toFixed(0)}/${ctx.durationS} s`;
  const rows = s.tiers.map((t) => [
    t.tier,
    String(t.count),
    pct(t.share),
    pct(t.accuracy),
    ms(t.p50Ms),
    ms(t.p99Ms),
    t.degraded ? String(t.degraded) : '0',
  ]);
  rows.push([
    'all',
    String(s.total),
    pct(s.total ? 1 : null),
    pct(s.accuracy),
    ms(s.p50Ms),
    ms(s.p99Ms),
    String(s.degraded),
  ]);
  // A degraded answer is a tier that could not be used: say why, so a broken cascade does not look
  // healthy (e.g. an upper model that refuses the device's input).
  const why = s.fallbacks.slice(0, 3).map((f) => `  ${f.code} ×${f.count}: ${f.message}`);
  return [
    `fogline up — ${clock}, ${ctx.devices} devices × ${ctx.ratePerDevice} req/s`,
    '',
    formatTable(['tier', 'answers', 'share', 'accuracy', 'p50', 'p99', 'degraded'], rows),
    '',
    `cloud calls saved vs always-cloud: ${pct(s.cloudCallsSaved)}   errors: ${s.errors}   degraded: ${s.degraded}`,
    ...(why.length > 0 ? ['degraded answers, why:', ...why] : []),
    `edge: ${ctx.edgeOnline ? 'online' : 'offline'}   cloud breaker: ${ctx.breaker}`,
    '',
    ...Object.entries(ctx.urls).map(([name, url]) => `${name.padEnd(14)} ${url}`),
  ].join('\n');
}
