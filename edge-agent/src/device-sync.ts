/**
 * Keeps the device list in step with the cloud (DESIGN.md "Where the brokers are"): applies each
 * desired state the cloud publishes, disconnects devices that lost access, writes the list to the
 * disk cache and reports back what was applied. At start, the cache is loaded first, so devices
 * authenticate after a restart even when the cloud is unreachable.
 */
import { fromUnknown } from '@fogline/shared/errors';
import type { AgentLogger } from './agent-options.ts';
import { type DesiredState, decodeDesiredState } from './desired-state.ts';
import type { DeviceListCache } from './device-list-cache.ts';
import type { DeviceRegistry } from './device-registry.ts';

/** What the edge publishes, retained, on `topics.reported(edgeId)` after applying a desired state. */
export interface ReportedState {
  edgeId: string;
  /** `version` of the applied desired state. */
  deviceListVersion: number | undefined;
  devices: number;
  /** Models served, name → version. */
  models: Record<string, number>;
  /** Desired model versions this edge does not serve (a model change needs a restart). */
  pendingModels?: Record<string, number>;
  /** Set when the last desired state was refused. */
  lastError?: string;
}

export interface DeviceSyncOptions {
  readonly edgeId: string;
  readonly registry: DeviceRegistry;
  readonly cache: DeviceListCache;
  /** Disconnects devices from the local broker. */
  readonly revoke: (deviceIds: readonly string[]) => void;
  readonly report: (state: ReportedState) => void;
  readonly servedModels: () => Record<string, number>;
  readonly logger: AgentLogger;
}

export class DeviceSync {
  private lastError: string | undefined;
  private desiredModels: Record<string, number> | undefined;
  /** Applies one state at a time, in arrival order. */
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly options: DeviceSyncOptions) {}

  /** Loads the disk cache into the registry; returns the cached version, if any. */
  async loadCache(): Promise<number | undefined> {
    const cached = await this.options.cache.load();
    if (cached === undefined) return undefined;
    this.options.registry.replace(cached);
    this.desiredModels = cached.models;
    this.options.logger.info(
      `device list v${cached.version} loaded from cache (${cached.devices.length} devices)`,
    );
    return cached.version;
  }

  /** Handles one payload of the desired topic; never throws. Resolves when applied and cached. */
  receive(payload: Uint8Array): Promise<void> {
    this.queue = this.queue.then(() => this.apply(payload));
    return this.queue;
  }

  reported(): ReportedState {
    const served = this.options.servedModels();
    const state: ReportedState = {
      edgeId: this.options.edgeId,
      deviceListVersion: this.options.registry.version,
      devices: this.options.registry.size,
      models: served,
    };
    const pending = Object.entries(this.desiredModels ?? {}).filter(([name, v]) => served[name] !== v);
    if (pending.length > 0) state.pendingModels = Object.fromEntries(pending);
    if (this.lastError !== undefined) state.lastError = this.lastError;
    return state;
  }

  private async apply(payload: Uint8Array): Promise<void> {
    const { registry, logger } = this.options;
    let state: DesiredState;
    try {
      state = decodeDesiredState(payload);
    } catch (err) {
      this.lastError = fromUnknown(err).message;
      logger.warn(`refused a desired state from the cloud: ${this.lastError}`);
      this.options.report(this.reported());
      return;
    }
    this.lastError = undefined;
    this.desiredModels = state.models;
    const revoked = registry.replace(state);
    if (revoked.length > 0) {
      this.options.revoke(revoked);
      logger.info(`revoked ${revoked.length} device(s): ${revoked.slice(0, 10).join(', ')}`);
    }
    try {
      await this.options.cache.save(state);
    } catch (err) {
      this.lastError = fromUnknown(err).message;
      logger.warn(this.lastError);
    }
    this.options.report(this.reported());
  }
}
