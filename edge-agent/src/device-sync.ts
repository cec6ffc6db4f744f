/**
 * Keeps the device list in step with the cloud (docs/design.md "Where the brokers are"): applies each
 * desired state the cloud publishes, disconnects devices that lost access, writes the list to the
 * disk cache and reports back what was applied. At start, the cache is loaded first, so devices
 * authenticate after a restart even when the cloud is unreachable.
 *
 * States come from the cloud broker (`receive`, in topic order) or are fetched over HTTP
 * (`receiveFetched`, desired-state-poller.ts); both are validated, applied, cached and reported alike.
 */
import { type DeploymentReport, fromUnknown } from '@fogline/shared';
import type { AgentLogger } from './agent-options.ts';
import type { RoutingDirectiveStatus } from './cloud-routing.ts';
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
  /** The last routing directive from the cloud: its id, applied or refused and why (cloud-routing.ts). */
  routing?: RoutingDirectiveStatus;
  /** How far the last deployment got (shared model-deployment.ts; deployment/deployer.ts). */
  deployment?: DeploymentReport;
}

export interface DeviceSyncOptions {
  readonly edgeId: string;
  readonly registry: DeviceRegistry;
  readonly cache: DeviceListCache;
  /** Disconnects devices from the local broker. */
  readonly revoke: (deviceIds: readonly string[]) => void;
  readonly report: (state: ReportedState) => void;
  readonly servedModels: () => Record<string, number>;
  /** Applies a desired state's `routing` block (cloud-routing.ts); resolves once applied or refused. */
  readonly routing?: {
    receive(raw: unknown): Promise<void>;
    status(): RoutingDirectiveStatus | undefined;
  };
  /**
   * Takes every desired state's `audit_rate` (audit-rate.ts): undefined when it has none (the
   * operator's rate cleared); resolves once applied or refused.
   */
  readonly auditRate?: { receive(raw: unknown): Promise<void> };
  /**
   * Takes a desired state's `deployment` block, undefined when it has none (deployment/deployer.ts):
   * validates it and starts it in the background (a download does not hold up the device list);
   * reports go out on their own.
   */
  readonly deployment?: {
    receive(raw: unknown): void;
    status(): DeploymentReport | undefined;
  };
  readonly logger: AgentLogger;
}

export class DeviceSync {
  private lastError: string | undefined;
  private desiredModels: Record<string, number> | undefined;
  private appliedCount = 0;
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

  /** How many states were applied since start: a fetch compares it to tell whether it was overtaken. */
  get applied(): number {
    return this.appliedCount;
  }

  /** Handles one payload of the desired topic; never throws. Resolves when applied and cached. */
  receive(payload: Uint8Array): Promise<void> {
    return this.enqueue(payload).then(() => {});
  }

  /**
   * Handles a desired state fetched over HTTP like `receive`, except that it is ignored when it has
   * the version already applied, or when another state was applied after `since` (the value of
   * `applied` when the fetch was sent: the cloud broker delivered a newer one meanwhile). Resolves
   * true when it was applied.
   */
  receiveFetched(payload: Uint8Array, since: number): Promise<boolean> {
    return this.enqueue(
      payload,
      (state) => state.version === this.options.registry.version || this.appliedCount !== since,
    );
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
    const routing = this.options.routing?.status();
    if (routing) state.routing = routing;
    const deployment = this.options.deployment?.status();
    if (deployment) state.deployment = deployment;
    return state;
  }

  /** Queues `payload` behind the states that arrived before it; `stale` may drop it once decoded. */
  private enqueue(payload: Uint8Array, stale?: (state: DesiredState) => boolean): Promise<boolean> {
    const applied = this.queue.then(() => this.apply(payload, stale));
    this.queue = applied.then(
      () => {},
      () => {},
    );
    return applied;
  }

  private async apply(payload: Uint8Array, stale?: (state: DesiredState) => boolean): Promise<boolean> {
    const { registry, logger } = this.options;
    let state: DesiredState;
    try {
      state = decodeDesiredState(payload);
    } catch (err) {
      this.lastError = fromUnknown(err).message;
      logger.warn(`refused a desired state from the cloud: ${this.lastError}`);
      this.options.report(this.reported());
      return false;
    }
    if (stale?.(state)) return false;
    this.appliedCount++;
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
    if (state.routing !== undefined) await this.options.routing?.receive(state.routing);
    await this.options.auditRate?.receive(state.auditRate);
    // No block is news too: a deployment under way that the cloud withdrew stops (deployer.ts).
    this.options.deployment?.receive(state.deployment);
    this.options.report(this.reported());
    return true;
  }
}
