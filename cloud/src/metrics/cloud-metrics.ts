/**
 * Prometheus metrics of the gateway (prom-client), on a registry of its own so several servers can
 * live in one process (tests). Queue depth is read at scrape time; batch sizes are observed as
 * batches start.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { ModelInstance } from '../serving/model-instance.ts';

const DIRECT_DEVICE_OUTCOMES = ['received', 'answered', 'errors', 'dropped'] as const;
type DirectDeviceOutcome = (typeof DIRECT_DEVICE_OUTCOMES)[number];

const LATENCY_BUCKETS_S = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256];

export class CloudMetrics {
  readonly registry = new Registry();
  readonly inferRequests: Counter<'model' | 'status'>;
  readonly inferLatency: Histogram<'model'>;
  readonly batchSize: Histogram<'model'>;
  readonly rateLimited: Counter<'key'>;
  readonly authFailures: Counter<'reason'>;
  private readonly serving = new Set<ModelInstance>();

  constructor(options: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (options.processMetrics ?? true)
      collectDefaultMetrics({ register: this.registry, prefix: 'fogline_' });
    this.inferRequests = new Counter({
      name: 'fogline_inference_requests_total',
      help: 'Inference requests answered, by model and HTTP status.',
      labelNames: ['model', 'status'],
      registers,
    });
    this.inferLatency = new Histogram({
      name: 'fogline_inference_request_duration_seconds',
      help: 'Time from request arrival to response, successful inference requests.',
      labelNames: ['model'],
      buckets: LATENCY_BUCKETS_S,
      registers,
    });
    this.batchSize = new Histogram({
      name: 'fogline_inference_batch_size',
      help: 'Samples per batch handed to onnxruntime.',
      labelNames: ['model'],
      buckets: BATCH_BUCKETS,
      registers,
    });
    this.rateLimited = new Counter({
      name: 'fogline_rate_limited_total',
      help: 'Requests refused with 429 by the per-key token bucket.',
      labelNames: ['key'],
      registers,
    });
    this.authFailures = new Counter({
      name: 'fogline_auth_failures_total',
      help: 'Requests refused with 401, by reason (missing, invalid).',
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
        for (const m of serving)
          this.set({ model: m.name, version: String(m.version) }, m.batcher.queueDepth);
      },
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

  private readonly requestChildren = new Map<string, { inc(): void }>();
  private readonly latencyChildren = new Map<string, { observe(v: number): void }>();

  /** Counts one answered inference request (label children cached: this is the hot path). */
  countRequest(model: string, status: number): void {
    const key = `${model}\u0000${status}`;
    let child = this.requestChildren.get(key);
    if (!child) {
      child = this.inferRequests.labels({ model, status: String(status) });
      this.requestChildren.set(key, child);
    }
    child.inc();
  }

  observeLatency(model: string, seconds: number): void {
    let child = this.latencyChildren.get(model);
    if (!child) {
      child = this.inferLatency.labels({ model });
      this.latencyChildren.set(model, child);
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

  /** Starts observing a serving model version (batch sizes, queue depth). */
  watch(instance: ModelInstance): void {
    this.serving.add(instance);
    const histogram = this.batchSize.labels({ model: instance.name });
    instance.batcher.stats.onBatch((samples) => histogram.observe(samples));
  }

  unwatch(instance: ModelInstance): void {
    this.serving.delete(instance);
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
