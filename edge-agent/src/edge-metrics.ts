/**
 * The edge's Prometheus exposition (text format 0.0.4), rendered from its telemetry at scrape time
 * (docs/edge-agent.md "Metrics"). Names are the cloud's where they mean the same
 * (`fogline_inference_queue_depth`, `fogline_model_ready`, `fogline_inference_request_duration_seconds`,
 * the `fogline_process_*` ones); what only an edge has is `fogline_edge_*`. Passes
 * `promtool check metrics` (edge-metrics.test.ts).
 */
import type { BreakerState } from './cloud-breaker.ts';
import type { TelemetryMessage } from './edge-telemetry.ts';
import type { LateCorrectionsCounts } from './late-corrections.ts';
import type { HistogramSnapshot } from './latency-histogram.ts';
import type { ReportCounts } from './report-inbox.ts';

const BREAKER_STATES: readonly BreakerState[] = ['closed', 'open', 'half-open'];

type Labels = Record<string, string>;

/** One metric family: HELP and TYPE lines, then its samples. */
class Family {
  readonly lines: string[];
  constructor(
    readonly name: string,
    type: 'counter' | 'gauge' | 'histogram',
    help: string,
  ) {
    this.lines = [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`];
  }

  sample(value: number, labels: Labels = {}, suffix = ''): this {
    this.lines.push(`${this.name}${suffix}${labelText(labels)} ${formatValue(value)}`);
    return this;
  }

  /** Cumulative buckets in seconds from a histogram in milliseconds. */
  histogram(h: HistogramSnapshot, labels: Labels = {}): this {
    let cumulative = 0;
    h.boundsMs.forEach((bound, i) => {
      cumulative += h.counts[i] ?? 0;
      this.sample(cumulative, { ...labels, le: formatValue(bound / 1000) }, '_bucket');
    });
    this.sample(h.count, { ...labels, le: '+Inf' }, '_bucket');
    this.sample(h.sumMs / 1000, labels, '_sum');
    return this.sample(h.count, labels, '_count');
  }
}

/** Seconds since the epoch at which this process started. */
const PROCESS_START_SEC = Math.round(Date.now() / 1000 - process.uptime());

export interface EdgeMetricsExtras {
  /** The late corrections' counts, where the edge keeps them (a cloud and a byte budget). */
  readonly lateCorrections?: LateCorrectionsCounts | undefined;
  /** The devices' reports read and dropped (report-inbox.ts). */
  readonly reports?: ReportCounts | undefined;
  readonly startTimeSec?: number;
}

/** The exposition of one telemetry snapshot, plus this process's CPU, memory and start time. */
export function renderEdgeMetrics(t: TelemetryMessage, extras: EdgeMetricsExtras = {}): string {
  const startTimeSec = extras.startTimeSec ?? PROCESS_START_SEC;
  const cut = t.model.lastIndexOf(':');
  const model = {
    model: cut < 0 ? t.model : t.model.slice(0, cut),
    version: cut < 0 ? '' : t.model.slice(cut + 1),
  };
  const c = t.counts;
  const families = [
    new Family(
      'fogline_edge_requests_received_total',
      'counter',
      'Messages that arrived on the edge infer topic.',
    ).sample(c.received),
    new Family(
      'fogline_edge_answers_total',
      'counter',
      'Requests answered, by who answered (degraded: the edge model because the cloud was unavailable).',
    )
      .sample(c.edge, { by: 'edge' })
      .sample(c.cloud, { by: 'cloud' })
      .sample(c.degraded, { by: 'degraded' }),
    errorsFamily(t),
    droppedFamily(t),
    new Family('fogline_edge_escalations_total', 'counter', 'Cloud calls attempted.').sample(c.escalations),
    new Family(
      'fogline_edge_breaker_opens_total',
      'counter',
      'Times the cloud circuit breaker opened.',
    ).sample(t.breakerOpens),
    BREAKER_STATES.reduce(
      (f, state) => f.sample(t.breaker === state ? 1 : 0, { state }),
      new Family(
        'fogline_edge_breaker_state',
        'gauge',
        'The cloud circuit breaker: 1 for its current state.',
      ),
    ),
    new Family('fogline_edge_in_flight', 'gauge', 'Requests received and not yet answered.').sample(
      t.inFlight,
    ),
    new Family('fogline_edge_devices', 'gauge', 'Devices in the current device list.').sample(t.devices),
    new Family(
      'fogline_inference_queue_depth',
      'gauge',
      'Requests waiting in the dynamic batcher queue.',
    ).sample(t.queueDepth, model),
    new Family('fogline_model_ready', 'gauge', '1 for every model version currently serving.').sample(
      1,
      model,
    ),
    new Family(
      'fogline_inference_request_duration_seconds',
      'histogram',
      'Time from request arrival to reply published, every request the edge answered.',
    ).histogram(t.latencyMs.total, model),
    new Family(
      'fogline_edge_local_duration_seconds',
      'histogram',
      'Edge model time per request: receipt to local answer ready.',
    ).histogram(t.latencyMs.edge),
    new Family(
      'fogline_edge_cloud_call_duration_seconds',
      'histogram',
      'Duration of each cloud call as the edge saw it, successful or not.',
    ).histogram(t.latencyMs.cloud),
    ...driftFamilies(t),
    ...lateCorrectionFamilies(extras.lateCorrections),
    ...reportFamilies(extras.reports),
    ...processFamilies(startTimeSec),
  ];
  return `${families.flatMap((f) => f.lines).join('\n')}\n`;
}

function errorsFamily(t: TelemetryMessage): Family {
  const f = new Family('fogline_edge_errors_total', 'counter', 'Explicit error replies sent, by error code.');
  for (const [code, n] of Object.entries(t.errorsByCode)) f.sample(n ?? 0, { code });
  return f;
}

function droppedFamily(t: TelemetryMessage): Family {
  const f = new Family(
    'fogline_edge_dropped_total',
    'counter',
    'Messages given no reply of their own, by reason (duplicate-in-flight: the reply to the same request, still in flight, answers it).',
  );
  for (const [reason, n] of Object.entries(t.droppedByReason)) f.sample(n ?? 0, { reason });
  return f;
}

function driftFamilies(t: TelemetryMessage): Family[] {
  const d = t.drift;
  if (!d) return [];
  const labels = { model: d.model };
  const families = [
    new Family('fogline_edge_drift_alarm', 'gauge', '1 while the drift alarm is on.').sample(
      d.alarm ? 1 : 0,
      labels,
    ),
    new Family('fogline_edge_drift_windows_total', 'counter', 'Drift windows closed.').sample(
      d.windows,
      labels,
    ),
    new Family('fogline_edge_drift_alarms_total', 'counter', 'Drift alarms raised.').sample(d.alarms, labels),
  ];
  if (d.psi !== null) {
    families.push(
      new Family('fogline_edge_drift_psi', 'gauge', 'PSI of the last closed drift window.').sample(
        d.psi,
        labels,
      ),
    );
  }
  return families;
}

/** Degraded answers kept for the cloud's second look, its verdicts and the corrections sent. */
function lateCorrectionFamilies(c: LateCorrectionsCounts | undefined): Family[] {
  if (!c) return [];
  return [
    new Family(
      'fogline_edge_late_corrections_pending',
      'gauge',
      'Degraded answers waiting for the cloud to answer them again.',
    ).sample(c.pending),
    new Family(
      'fogline_edge_late_corrections_checked_total',
      'counter',
      'Degraded answers the cloud answered again, by outcome (corrected: another class; refused: the cloud refused the input).',
    )
      .sample(c.corrected, { outcome: 'corrected' })
      .sample(c.agreed, { outcome: 'agreed' })
      .sample(c.refused, { outcome: 'refused' }),
    new Family(
      'fogline_edge_late_corrections_sent_total',
      'counter',
      'Correction messages published to their devices.',
    ).sample(c.sent),
    new Family(
      'fogline_edge_late_corrections_dropped_total',
      'counter',
      'Degraded answers never checked: the store full, a record too large, or the disk behind.',
    )
      .sample(c.droppedFull, { reason: 'full' })
      .sample(c.droppedTooLarge, { reason: 'too-large' })
      .sample(c.droppedBusy, { reason: 'busy' }),
    new Family(
      'fogline_edge_late_corrections_store_bytes',
      'gauge',
      'Bytes the late-correction store holds on disk.',
    ).sample(c.bytes),
  ];
}

/** Device reports read by kind, and dropped over the embedded broker's per-device report bucket. */
function reportFamilies(r: ReportCounts | undefined): Family[] {
  if (!r) return [];
  const read = new Family(
    'fogline_edge_reports_total',
    'counter',
    'Device reports read, by kind (audit, feedback, histogram).',
  );
  for (const [kind, n] of Object.entries(r.accepted)) read.sample(n, { kind });
  if (r.dropped === undefined) return [read]; // an external broker: it has no report bucket
  const dropped = new Family(
    'fogline_edge_reports_dropped_total',
    'counter',
    "Device reports the embedded broker dropped over a device's report bucket (reportRate).",
  ).sample(r.dropped);
  return [read, dropped];
}

/** The same names prom-client gives the cloud's process metrics. */
function processFamilies(startTimeSec: number): Family[] {
  const cpu = process.cpuUsage();
  return [
    new Family(
      'fogline_process_cpu_seconds_total',
      'counter',
      'Total user and system CPU time spent in seconds.',
    ).sample((cpu.user + cpu.system) / 1e6),
    new Family('fogline_process_resident_memory_bytes', 'gauge', 'Resident memory size in bytes.').sample(
      process.memoryUsage.rss(),
    ),
    new Family(
      'fogline_process_start_time_seconds',
      'gauge',
      'Start time of the process since unix epoch in seconds.',
    ).sample(startTimeSec),
  ];
}

function labelText(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  // Exposition format: backslash, double quote and line feed escaped in label values.
  const escaped = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
  return `{${entries.map(([k, v]) => `${k}="${escaped(v)}"`).join(',')}}`;
}

function formatValue(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? '+Inf' : '-Inf';
  return String(n);
}
