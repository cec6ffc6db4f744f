/**
 * The device list over HTTP (docs/edge-agent.md "Device list over HTTP"): fetches the edge's own
 * desired state from the cloud (`GET /v2/fogline/edges/{edgeId}/desired`, the edge's token) once at
 * start, and then every `intervalMs` when the edge has no cloud broker to receive it from. Sends the
 * applied version as `If-None-Match`, so an unchanged list costs a 304; whatever comes back goes
 * through DeviceSync like an MQTT message (validated, applied, cached, reported).
 *
 * Fetches never overlap (the next is scheduled when one ends) and never throw: a failure is logged
 * once, until the cloud answers again, and the disk cache keeps serving. `stop` clears the timer and
 * aborts a fetch under way.
 */
import { fromUnknown } from '@fogline/shared';
import type { AgentLogger } from './agent-options.ts';
import type { CloudClient } from './cloud-client.ts';
import type { DeviceSync } from './device-sync.ts';

/** Bound on one fetch. */
export const DESIRED_FETCH_TIMEOUT_MS = 10_000;

export interface DesiredStatePollerOptions {
  readonly client: Pick<CloudClient, 'fetchDesiredState'>;
  readonly sync: Pick<DeviceSync, 'applied' | 'receiveFetched'>;
  /** The version applied now (sent as If-None-Match). */
  readonly appliedVersion: () => number | undefined;
  /** Time between the end of one fetch and the next; 0 = fetch once. */
  readonly intervalMs: number;
  readonly timeoutMs?: number;
  readonly logger: AgentLogger;
}

export class DesiredStatePoller {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running: Promise<void> = Promise.resolve();
  /** Aborts the fetch under way. */
  private inFlight: AbortController | undefined;
  private stopped = false;
  /** The failure last logged, until a fetch succeeds. */
  private failure: string | undefined;

  constructor(private readonly options: DesiredStatePollerOptions) {}

  /** Fetches now, then every `intervalMs`. */
  start(): void {
    this.running = this.poll();
  }

  /** Stops polling; resolves once a fetch under way has ended (aborted) or been applied. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.inFlight?.abort();
    await this.running;
  }

  private async poll(): Promise<void> {
    await this.fetchOnce();
    const { intervalMs } = this.options;
    if (this.stopped || intervalMs <= 0) return;
    this.timer = setTimeout(() => {
      this.running = this.poll();
    }, intervalMs);
    this.timer.unref();
  }

  private async fetchOnce(): Promise<void> {
    const { client, sync, appliedVersion, logger } = this.options;
    const since = sync.applied;
    const abort = new AbortController();
    this.inFlight = abort;
    const timeout = setTimeout(() => abort.abort(), this.options.timeoutMs ?? DESIRED_FETCH_TIMEOUT_MS);
    try {
      const payload = await client.fetchDesiredState(appliedVersion(), abort.signal);
      if (this.failure !== undefined) logger.info('device list: the cloud answers again');
      this.failure = undefined;
      if (payload !== undefined && (await sync.receiveFetched(payload, since)))
        logger.info(`device list v${appliedVersion()} fetched from the cloud`);
    } catch (err) {
      if (this.stopped) return;
      const message = fromUnknown(err).message;
      if (message !== this.failure) logger.warn(`could not fetch the device list from the cloud: ${message}`);
      this.failure = message;
    } finally {
      clearTimeout(timeout);
      this.inFlight = undefined;
    }
  }
}
