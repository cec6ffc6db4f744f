/**
 * Live: the cloud's server-sent events (`GET /api/live`, one snapshot a second) turned into rates:
 * answers/s per tier, each tier's share of the escalated requests, latency p50/p99 per tier, cloud
 * calls saved, rate-limit refusals, breaker opens and drift alarms; field accuracy per tier with its
 * interval (F7); policy changes as marks on the charts.
 */
import { esc } from './api.ts';
import { fieldPanel } from './field-panel.ts';
import { lineChart } from './line-chart.ts';
import { changeTitle, policyMarks } from './policy-marks.ts';
import type { LiveSnapshot } from './types.ts';

const KEEP = 120;
/** Rates over the last this many ms of snapshots. */
const WINDOW_MS = 10_000;
const COLORS = { edge: '#e08a1e', cloud: '#8a4fd6', escalated: '#2f6fde' };

const sum = (s: LiveSnapshot, field: string) => s.edges.reduce((a, e) => a + (e.counts[field] ?? 0), 0);

export class LiveView {
  private readonly snapshots: LiveSnapshot[] = [];
  private readonly rates = { edge: [] as number[], cloud: [] as number[], escalated: [] as number[] };
  /** The wall clock of each point of `rates`. */
  private readonly times: number[] = [];
  private source?: EventSource;
  /** Answers/s over the last window. */
  lastRate = 0;

  constructor(
    private readonly root: HTMLElement,
    /** Called when the stream fails: the caller checks whether the session ended. */
    private readonly onError: () => void,
  ) {
    root.innerHTML = `
      <div class="toolbar"><h1 style="margin:0">Live</h1><span id="live-state" class="muted">connecting…</span></div>
      <div class="stats" id="live-stats"></div>
      <div class="grid">
        <div class="card chart"><h2>Answers per second by tier</h2><div id="chart-rate"></div></div>
        <div class="card chart"><h2>Share of escalated requests</h2><div id="chart-share"></div></div>
        <div class="card wide" id="field-accuracy"><h2>Field accuracy per tier, drift alarms</h2><div></div></div>
        <div class="card"><h2>Latency per tier</h2><div id="live-latency"></div></div>
        <div class="card" id="policy-changes"><h2>Policy changes, last 10 min</h2><div></div></div>
      </div>`;
  }

  start(): void {
    if (this.source) return;
    this.source = new EventSource('/api/live');
    const state = this.root.querySelector('#live-state')!;
    this.source.addEventListener('snapshot', (e) => {
      state.textContent = 'live';
      this.add(JSON.parse((e as MessageEvent<string>).data) as LiveSnapshot);
    });
    this.source.onerror = () => {
      state.textContent = 'reconnecting…';
      this.onError();
    };
  }

  stop(): void {
    this.source?.close();
    this.source = undefined;
  }

  private add(s: LiveSnapshot): void {
    this.snapshots.push(s);
    if (this.snapshots.length > KEEP) this.snapshots.shift();
    // Edges send telemetry every few seconds: rates are taken over a sliding window, not per event.
    const then = this.snapshots.find((old) => s.at - old.at <= WINDOW_MS) ?? s;
    if (then !== s) {
      const dt = (s.at - then.at) / 1000;
      const d = (field: string) => Math.max(0, sum(s, field) - sum(then, field)) / dt;
      const direct = Math.max(0, s.cloud.direct.answered - then.cloud.direct.answered) / dt;
      this.push('edge', d('edge'));
      this.push('cloud', d('cloud') + direct);
      this.push('escalated', d('received') + direct);
      this.lastRate = d('edge') + d('cloud') + direct;
      this.times.push(s.at);
      if (this.times.length > KEEP) this.times.shift();
    }
    this.render(s);
  }

  private push(series: keyof LiveView['rates'], v: number): void {
    const values = this.rates[series];
    values.push(v);
    if (values.length > KEEP) values.shift();
  }

  private render(s: LiveSnapshot): void {
    const first = this.snapshots[0]!;
    const edgeAnswers = sum(s, 'edge') - sum(first, 'edge');
    const cloudAnswers = sum(s, 'cloud') - sum(first, 'cloud');
    const received = sum(s, 'received');
    const saved = received > 0 ? sum(s, 'edge') / received : null;
    const alarms = s.edges.filter((e) => e.drift?.alarm).length;
    const stat = (label: string, value: string, id: string) =>
      `<div class="stat" id="${id}"><div class="value">${value}</div><div class="label">${label}</div></div>`;
    this.root.querySelector('#live-stats')!.innerHTML = [
      stat('answers/s by edge and cloud, last 10 s', this.lastRate.toFixed(1), 'stat-rate'),
      stat(
        'cloud calls saved by the edge',
        saved === null ? '—' : `${(saved * 100).toFixed(1)} %`,
        'stat-saved',
      ),
      stat('rate-limit refusals', String(s.cloud.rateLimited), 'stat-refusals'),
      stat('breaker opens', String(s.cloud.breakerOpens), 'stat-breaker'),
      stat('drift alarms now', String(alarms), 'stat-drift'),
    ].join('');
    const marks = policyMarks(s.policyChanges ?? [], this.times);
    this.root.querySelector('#chart-rate')!.innerHTML = lineChart(
      [
        { name: 'escalated to the edge', color: COLORS.escalated, values: this.rates.escalated },
        { name: 'edge', color: COLORS.edge, values: this.rates.edge },
        { name: 'cloud', color: COLORS.cloud, values: this.rates.cloud },
      ],
      'answers/s',
      marks,
    );
    const total = this.rates.edge.map((v, i) => v + (this.rates.cloud[i] ?? 0));
    const share = (tier: 'edge' | 'cloud') =>
      this.rates[tier].map((v, i) => (total[i]! > 0 ? (v / total[i]!) * 100 : Number.NaN));
    this.root.querySelector('#chart-share')!.innerHTML = lineChart(
      [
        { name: `edge (${edgeAnswers} since opened)`, color: COLORS.edge, values: share('edge') },
        { name: `cloud (${cloudAnswers} since opened)`, color: COLORS.cloud, values: share('cloud') },
      ],
      '% of answers',
      marks,
    );
    const ms = (v: number | null | undefined) => (v === null || v === undefined ? '—' : `≤ ${v} ms`);
    const rows = s.edges
      .flatMap((e) =>
        Object.entries(e.latencyMs).map(
          ([tier, l]) =>
            `<tr><td>${esc(e.id)}</td><td>${esc(tier)}</td><td>${ms(l.p50)}</td><td>${ms(l.p99)}</td>
             <td>${l.mean === null ? '—' : `${l.mean.toFixed(1)} ms`}</td></tr>`,
        ),
      )
      .join('');
    this.root.querySelector('#live-latency')!.innerHTML = `<table><thead><tr><th>edge</th><th>tier</th>
      <th>p50</th><th>p99</th><th>mean</th></tr></thead><tbody>${rows || '<tr><td colspan="5" class="muted">no telemetry yet</td></tr>'}</tbody></table>
      <p class="muted">Since each edge started, from its telemetry histograms (bucket upper bounds).</p>`;
    this.root.querySelector('#field-accuracy > div')!.innerHTML = fieldPanel(s.edges);
    const changes = [...(s.policyChanges ?? [])].reverse();
    this.root.querySelector('#policy-changes > div')!.innerHTML = changes.length
      ? `<ul class="changes">${changes.map((c) => `<li>${esc(changeTitle(c))}</li>`).join('')}</ul>
         <p class="muted">Dashed lines on the charts; hover one for its change.</p>`
      : '<p class="muted">none: the thresholds held.</p>';
  }
}
