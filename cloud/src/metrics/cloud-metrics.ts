/**
 * Prometheus metrics of the gateway (prom-client), on a registry of its own so several servers can
 * live in one process (tests). Queue depth and the per-version time counters (queue, compute_input,
 * compute_infer, compute_output: Triton's `nv_inference_*_duration_us`, here in seconds as
 * Prometheus names want) are read at scrape time; batch sizes are observed as batches start. The
 * exposition passes `promtool check metrics` (cloud-metrics.test.ts): prom-client's default gauges
 * named `*_total` are dropped (each has a correctly named twin without the suffix). The response
 * cache's per-version hits, misses and their times sit with the other per-version totals; its
 * server-wide size, entries and evictions come from `watchResponseCache`.
 */
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { AuditDriftCheck } from '../audits/audit-drift-check.ts';
import type { AuditIntakeCounts } from '../audits/audit-intake.ts';
import type { ModelInstance } from '../serving/model-instance.ts';
import type { ResponseCacheStats } from '../serving/response-cache.ts';
import { type FieldSource, registerFieldMetrics } from './field-metrics.ts';
import { CounterTallies, HistogramTallies } from './tallies.ts';

const DIRECT_DEVICE_OUTCOMES = ['received', 'answered', 'errors', 'dropped'] as const;
type DirectDeviceOutcome = (typeof DIRECT_DEVICE_OUTCOMES)[number];

/** prom-client default metrics that are gauges named like counters (`promtool check metrics`). */
const MISNAMED_DEFAULT_GAUGES = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

/** Per-version totals read from each serving instance at scrape time (Triton's name in brackets). */
const VERSION_TOTALS: readonly {
  name: string;
  help: string;
  read(m: ModelInstance): number;
}[] = [
  {
    name: 'fogline_inference_queue_duration_seconds_total',
    help: 'Time requests waited in the dynamic batcher queue, summed (Triton nv_inference_queue_duration_us).',
    read: (m) => m.batcher.stats.queueMs / 1000,
  },
  {
    name: 'fogline_inference_compute_input_duration_seconds_total',
    help: 'Time spent decoding and checking request bodies, summed (Triton nv_inference_compute_input_duration_us).',
    read: (m) => m.requests.computeInput.ms / 1000,
  },
  {
    name: 'fogline_inference_compute_infer_duration_seconds_total',
    help: 'Time batches spent in onnxruntime, summed (Triton nv_inference_compute_infer_duration_us).',
    read: (m) => m.batcher.stats.computeMs / 1000,
  },
  {
    name: 'fogline_inference_compute_output_duration_seconds_total',
    help: 'Time spent encoding responses, summed (Triton nv_inference_compute_output_duration_us).',
    read: (m) => m.requests.computeOutput.ms / 1000,
  },
  {
    name: 'fogline_response_cache_hits_total',
    help: 'Requests answered from the response cache (Triton nv_cache_num_hits_per_model).',
    read: (m) => m.requests.cacheHit.count,
  },
  {
    name: 'fogline_response_cache_misses_total',
    help: 'Response cache lookups that found nothing; the model ran (Triton nv_cache_num_misses_per_model).',
    read: (m) => m.requests.cacheMiss.count,
  },
  {
    name: 'fogline_response_cache_hit_duration_seconds_total',
    help: 'Time of response cache hits (lookup and copy out), summed (Triton nv_cache_hit_duration_per_model).',
    read: (m) => m.requests.cacheHit.ms / 1000,
  },
  {
    name: 'fogline_response_cache_miss_duration_seconds_total',
    help: 'Time of response cache misses (lookup and insertion), summed (Triton nv_cache_miss_duration_per_model).',
    read: (m) => m.requests.cacheMiss.ms / 1000,
  },
  {
    name: 'fogline_inference_executions_total',
    help: 'Batches run (Triton nv_inference_exec_count).',
    read: (m) => m.batcher.stats.executions,
  },
  {
    name: 'fogline_inference_samples_total',
    help: 'Samples inferred, summed over batches (Triton nv_inference_count).',
    read: (m) => m.batcher.stats.inferences,
  },
];

type VersionLabels = { model: string; version: string };
const versionLabels = (m: ModelInstance): VersionLabels => ({ model: m.name, version: String(m.version) });
const versionKey = (m: ModelInstance) => `${m.name}\u0000${m.version}`;

const LATENCY_BUCKETS_S = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256];

export class CloudMetrics {
  readonly registry = new Registry();
  readonly inferRequests: Counter<'model' | 'version' | 'status'>;
  private readonly requestTallies: CounterTallies<'model' | 'version' | 'status'>;
  private readonly inferLatency: HistogramTallies;
  private readonly batchSize: HistogramTallies;
  readonly rateLimited: Counter<'key'>;
  readonly authFailures: Counter<'reason'>;
  private readonly serving = new Set<ModelInstance>();
  /**
   * Per model version, the final VERSION_TOTALS of its retired instances, while the version still
   * serves: a reload of a loaded version replaces its instance, and its series go on from there.
   */
  private readonly carried = new Map<string, { labels: VersionLabels; totals: number[] }>();

  constructor(options: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (options.processMetrics ?? true) {
      collectDefaultMetrics({ register: this.registry, prefix: 'fogline_' });
      for (const name of MISNAMED_DEFAULT_GAUGES) this.registry.removeSingleMetric(`fogline_${name}`);
    }
    // Counted per request through tallies (tallies.ts), flushed into the Counter when scraped.
    let tallies: CounterTallies<'model' | 'version' | 'status'> | undefined;
    this.inferRequests = new Counter({
      name: 'fogline_inference_requests_total',
      help: 'Inference requests answered, by model, version and HTTP status (model and version empty when the request named no serving model).',
      labelNames: ['model', 'version', 'status'],
      registers,
      collect: () => tallies?.flush(),
    });
    tallies = new CounterTallies(this.inferRequests);
    this.requestTallies = tallies;
    this.inferLatency = new HistogramTallies(
      'fogline_inference_request_duration_seconds',
      'Time from request arrival to response, successful inference requests.',
      LATENCY_BUCKETS_S,
      this.registry,
    );
    this.batchSize = new HistogramTallies(
      'fogline_inference_batch_size',
      'Samples per batch handed to onnxruntime.',
      BATCH_BUCKETS,
      this.registry,
    );
    this.rateLimited = new Counter({
      name: 'fogline_rate_limited_total',
      help: 'Requests refused with 429 by the per-key token bucket.',
      labelNames: ['key'],
      registers,
    });
    this.authFailures = new Counter({
      name: 'fogline_auth_failures_total',
      help: 'Requests refused with 401 by reason (missing, invalid), or with 429 as throttled (an address over its failed-authentication budget); throttled-at-accept: connections from such an address cut at accept, unread.',
      labelNames: ['reason'],
      registers,
    });
    const serving = this.serving;
    new Gauge({
      name: 'fogline_inference_queue_depth',
      help: 'Requests waiting in the dynamic batcher queue.',
      labelNames: ['model', 'version'],
      registers,
      collect() {
        this.reset();
        for (const m of serving) this.inc(versionLabels(m), m.batcher.queueDepth);
      },
    });
    const carried = this.carried;
    VERSION_TOTALS.forEach((total, i) => {
      new Counter({
        name: total.name,
        help: total.help,
        labelNames: ['model', 'version'],
        registers,
        collect() {
          // A version's series: what its retired instances counted plus what its serving ones have
          // (two while a reload of it overlaps, each counting its own requests).
          this.reset();
          for (const { labels, totals } of carried.values()) this.inc(labels, totals[i]!);
          for (const m of serving) this.inc(versionLabels(m), total.read(m));
        },
      });
    });
    new Gauge({
      name: 'fogline_model_ready',
      help: '1 for every model version currently serving.',
      labelNames: ['model', 'version'],
      registers,
      collect() {
        this.reset();
        for (const m of serving) this.set({ model: m.name, version: String(m.version) }, 1);
      },
    });
  }

  /** Requests refused by the per-key token bucket, all keys together (the live feed). */
  async rateLimitedTotal(): Promise<number> {
    return (await this.rateLimited.get()).values.reduce((sum, v) => sum + v.value, 0);
  }

  /** Label children per serving version and status (cached: this is the hot path). */
  private readonly requestChildren = new WeakMap<ModelInstance, Map<number, { inc(): void }>>();
  private readonly unresolvedChildren = new Map<number, { inc(): void }>();
  private readonly latencyChildren = new WeakMap<ModelInstance, { observe(v: number): void }>();

  /** Counts one answered inference request; `instance` undefined when it named no serving model. */
  countRequest(instance: ModelInstance | undefined, status: number): void {
    let byStatus = instance ? this.requestChildren.get(instance) : this.unresolvedChildren;
    if (!byStatus) {
      byStatus = new Map();
      this.requestChildren.set(instance!, byStatus);
    }
    let child = byStatus.get(status);
    if (!child) {
      child = this.requestTallies.tally({
        model: instance?.name ?? '',
        version: instance ? String(instance.version) : '',
        status: String(status),
      });
      byStatus.set(status, child);
    }
    child.inc();
  }

  observeLatency(instance: ModelInstance, seconds: number): void {
    let child = this.latencyChildren.get(instance);
    if (!child) {
      child = this.inferLatency.tally({ model: instance.name, version: String(instance.version) });
      this.latencyChildren.set(instance, child);
    }
    child.observe(seconds);
  }

  /**
   * Exports the counts of the devices with no edge that the cloud answers on its broker
   * (DirectDeviceServer), read at scrape time: requests received, answered, answered with an error,
   * and dropped (no readable reply topic or id).
   */
  watchDirectDevices(stats: () => Readonly<Record<DirectDeviceOutcome, number>>): void {
    new Counter({
      name: 'fogline_direct_device_requests_total',
      help: 'Requests of devices with no edge on the cloud broker, by outcome.',
      labelNames: ['outcome'],
      registers: [this.registry],
      collect() {
        this.reset();
        const now = stats();
        for (const outcome of DIRECT_DEVICE_OUTCOMES) this.inc({ outcome }, now[outcome]);
      },
    });
  }

  /**
   * Exports the server-wide state of the response cache, read at scrape time: entries, bytes held,
   * capacity, and evictions (entries removed to make room). Per-model hits and misses are counted
   * with the other per-version totals.
   */
  watchResponseCache(cache: { readonly stats: ResponseCacheStats }): void {
    const registers = [this.registry];
    const gauges: [string, string, (s: ResponseCacheStats) => number][] = [
      ['fogline_response_cache_entries', 'Answers held in the response cache.', (s) => s.entries],
      [
        'fogline_response_cache_size_bytes',
        'Bytes held in the response cache (outputs plus a fixed overhead per entry).',
        (s) => s.bytes,
      ],
      [
        'fogline_response_cache_capacity_bytes',
        'Size of the response cache (--response-cache-mb); 0 = no cache.',
        (s) => s.capacityBytes,
      ],
    ];
    for (const [name, help, read] of gauges) {
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read(cache.stats));
        },
      });
    }
    new Counter({
      name: 'fogline_response_cache_evictions_total',
      help: 'Least recently used answers removed from the response cache to make room.',
      registers,
      collect() {
        this.reset();
        this.inc(cache.stats.evictions);
      },
    });
  }

  /**
   * Exports the audit intake's counts (docs/cloud.md "Audits"), read at scrape time: audits accepted
   * from edges, dropped (queue full), stored as records, failed; and how many wait for the model.
   */
  watchAudits(counts: () => AuditIntakeCounts | undefined): void {
    new Counter({
      name: 'fogline_audits_total',
      help: 'Audits uploaded by edges, by outcome: accepted, dropped (queue full), stored, failed.',
      labelNames: ['outcome'],
      registers: [this.registry],
      collect() {
        this.reset();
        const now = counts();
        if (!now) return;
        for (const outcome of ['accepted', 'dropped', 'stored', 'failed'] as const) {
          this.inc({ outcome }, now[outcome]);
        }
      },
    });
    new Gauge({
      name: 'fogline_audits_queued',
      help: 'Audits waiting for the reference model.',
      registers: [this.registry],
      collect() {
        this.set(counts()?.queued ?? 0);
      },
    });
  }

  /** Field accuracy per edge and the controller (field-metrics.ts), read at scrape time. */
  watchField(source: FieldSource): void {
    registerFieldMetrics(this.registry, source);
  }

  /** Starts observing a serving model version (batch sizes, queue depth). */
  watch(instance: ModelInstance): void {
    this.serving.add(instance);
    const histogram = this.batchSize.tally({ model: instance.name });
    instance.batcher.stats.onBatch((samples) => histogram.observe(samples));
  }

  /**
   * Stops observing a retired model version. When the same version still serves (a reload of a
   * loaded version), its totals carry on in that version's series, so they never go down; otherwise
   * the version's series end.
   */
  unwatch(instance: ModelInstance): void {
    if (!this.serving.delete(instance)) return;
    const key = versionKey(instance);
    if (![...this.serving].some((m) => versionKey(m) === key)) {
      this.carried.delete(key);
      return;
    }
    const entry = this.carried.get(key) ?? {
      labels: versionLabels(instance),
      totals: VERSION_TOTALS.map(() => 0),
    };
    VERSION_TOTALS.forEach((total, i) => {
      entry.totals[i]! += total.read(instance);
    });
    this.carried.set(key, entry);
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  /**
   * Exports the cloud's drift checks on the audits (docs/field-accuracy.md "The cloud's drift
   * checks"), read at scrape time: per edge, the PSI of the audits' device scores and of the cloud's
   * own scores against their calibration histograms (only once there are enough records). Whether
   * the reference is weak is the controller's one signal, `fogline_reference_weak`.
   */
  watchAuditDrift(check: Pick<AuditDriftCheck, 'entries'>): void {
    const registers = [this.registry];
    new Gauge({
      name: 'fogline_audit_drift_psi',
      help: "PSI of an edge's audited scores (device or cloud) against their calibration histogram.",
      labelNames: ['edge', 'scores'],
      registers,
      collect() {
        this.reset();
        for (const [edge, { drift }] of check.entries()) {
          if (drift.device.psi !== undefined) this.set({ edge, scores: 'device' }, drift.device.psi);
          if (drift.cloud.psi !== undefined) this.set({ edge, scores: 'cloud' }, drift.cloud.psi);
        }
      },
    });
  }
}
