/**
 * Publishes each edge's desired state, retained, QoS 1, on `topics.desired(edgeId)` (docs/design.md
 * "Protocols"; the exact JSON the edge agent parses, docs/edge-agent.md "Desired state"):
 *
 *   {"version": 1718000000123, "devices": [{"id": "dev-1", "tokenHash": "scrypt$..."}], "models": {"digits-mid": 1}}
 *
 * With a `routing` block when the cloud has a policy directive for the edge (the cloud → edge policy
 * channel, shared routing-directive.ts; the controller or an operator sets it, controller/), and an
 * `audit_rate` while an operator has set one for the edge's devices (controller/audit-rate-admin.ts).
 * With a `deployment` block while the edge is in a deployment that reached it (model-deployment.ts;
 * deployments/deployment-service.ts).
 * Device ids and token hashes only, never tokens. Published for every active edge at start, and
 * again for an edge on each of its device creations/revocations and on its own creation/revocation
 * (a revoked edge gets an empty list, so no device hash stays retained for it).
 *
 * Each publish reads the list from the store when it runs, and runs for one edge are serialised,
 * so the last message on the topic always reflects the latest change; changes that arrive while a
 * run is waiting share the next one. `version` comes from a wall clock in ms, strictly increasing in
 * this process, so it also grows across restarts.
 *
 * The last message published to each edge is kept (`current`), so the HTTP route an edge polls
 * serves the very bytes, and the version, its retained topic holds: an edge that gets both never
 * sees two versions of one state.
 *
 * Replicas of a clustered cloud share a `ledger` (cluster/desired-state-ledger.ts): each run then
 * holds the edge's cluster-wide lock and takes its version from one sequence per edge, and
 * `current` serves the latest message whichever replica published it.
 */
import { type DeploymentDirective, fromUnknown, type RoutingDirective, topics } from '@fogline/shared';
import type { DeviceRepository } from '../store/index.ts';

export interface DesiredStateMessage {
  version: number;
  devices: { id: string; tokenHash: string }[];
  models: Record<string, number>;
  routing?: RoutingDirective;
  /** The operator's audit rate for the edge's devices (controller/audit-rate-admin.ts). */
  audit_rate?: number;
  deployment?: DeploymentDirective;
}

export interface DesiredStatePublisherOptions {
  devices: Pick<DeviceRepository, 'listByEdge'>;
  /** In-process publish on the cloud broker (no ACL). */
  publish: (topic: string, payload: string, options: { qos: 1; retain: true }) => Promise<void>;
  /**
   * Model versions `edgeId` should serve (name → version), given the deployment block its message
   * carries (the deployed model's entry follows it, edge-models.ts `followDeployment`).
   */
  models: (edgeId: string, deployment: DeploymentDirective | undefined) => Record<string, number>;
  /** The policy directive for `edgeId`, if any (read when each publish runs). */
  routing?: (edgeId: string) => Promise<RoutingDirective | undefined>;
  /** The operator's audit rate for `edgeId`, if any (read when each publish runs). */
  auditRate?: (edgeId: string) => Promise<number | undefined>;
  /** The model the edge should deploy, if any (read when each publish runs). */
  deployment?: (edgeId: string) => Promise<DeploymentDirective | undefined>;
  /** Wall-clock ms. Default Date.now. */
  now?: () => number;
  onError?: (edgeId: string, err: Error) => void;
  /** Shared with the other replicas; absent: this process numbers and keeps its own. */
  ledger?: DesiredStateLedger;
}

/** One published message: the parsed form and the exact payload sent. */
export interface PublishedDesiredState {
  readonly message: DesiredStateMessage;
  readonly payload: string;
}

/** Where replicas agree on each edge's desired state (cluster/desired-state-ledger.ts). */
export interface DesiredStateLedger {
  /**
   * Runs `run` alone among the replicas for `edgeId`, with the edge's next version (above `floor`,
   * the highest this replica knows), and keeps what it published as the edge's latest.
   */
  exclusive(
    edgeId: string,
    floor: number,
    run: (version: number) => Promise<PublishedDesiredState>,
  ): Promise<PublishedDesiredState>;
  /** The latest state published to `edgeId` by any replica, if known. */
  latest(edgeId: string): Promise<PublishedDesiredState | undefined>;
  /** Drops what it keeps for `edgeId` (a revoked edge): its sequence and latest state. */
  forget(edgeId: string): Promise<void>;
}

interface EdgeQueue {
  running: Promise<number | undefined>;
  /** A run queued behind `running`; later requests join it. */
  next?: Promise<number | undefined>;
}

export class DesiredStatePublisher {
  private readonly queues = new Map<string, EdgeQueue>();
  private readonly last = new Map<string, PublishedDesiredState>();
  private lastVersion = 0;
  private readonly now: () => number;

  constructor(private readonly options: DesiredStatePublisherOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Strictly increasing, and at least the wall clock in ms (so it keeps growing after a restart). */
  nextVersion(): number {
    this.lastVersion = Math.max(this.now(), this.lastVersion + 1);
    return this.lastVersion;
  }

  /**
   * (Re)publishes `edgeId`'s list; resolves with the version published, or undefined if it failed
   * (reported through `onError`; never rejects: the change is in the store and the next publish
   * carries it).
   */
  publish(edgeId: string): Promise<number | undefined> {
    const queue = this.queues.get(edgeId);
    if (!queue) {
      const created: EdgeQueue = { running: this.run(edgeId) };
      this.queues.set(edgeId, created);
      void created.running.then(() => this.settle(edgeId, created));
      return created.running;
    }
    queue.next ??= queue.running.then(() => {
      queue.running = queue.next!;
      queue.next = undefined;
      return this.run(edgeId);
    });
    const next = queue.next;
    void next.then(() => this.settle(edgeId, queue));
    return next;
  }

  async publishAll(edgeIds: readonly string[]): Promise<void> {
    await Promise.all(edgeIds.map((id) => this.publish(id)));
  }

  /** The `models` last published to `edgeId`, if any. */
  publishedModels(edgeId: string): Record<string, number> | undefined {
    return this.last.get(edgeId)?.message.models;
  }

  /**
   * The `models` `edgeId` should be told now, for the deployment block last published to it: a
   * report that changes them (the edge's served models, or its deployment failing) calls for a
   * publish; one that does not, for none (so reports and publishes never loop).
   */
  desiredModels(edgeId: string): Record<string, number> {
    return this.options.models(edgeId, this.last.get(edgeId)?.message.deployment);
  }

  /**
   * What `edgeId`'s retained topic holds once the publishes under way for it are done; publishes
   * first if nothing was published to it yet. Undefined when that publish failed.
   */
  async current(edgeId: string): Promise<PublishedDesiredState | undefined> {
    const queue = this.queues.get(edgeId);
    if (queue) await (queue.next ?? queue.running);
    await this.catchUp(edgeId);
    if (!this.last.has(edgeId)) await this.publish(edgeId);
    return this.last.get(edgeId);
  }

  /** Takes another replica's newer publish for `edgeId` as the last one (a ledger that fails: none). */
  private async catchUp(edgeId: string): Promise<void> {
    const shared = await this.options.ledger?.latest(edgeId).catch(() => undefined);
    if (shared && shared.message.version > (this.last.get(edgeId)?.message.version ?? 0)) {
      this.last.set(edgeId, shared);
    }
  }

  /**
   * Forgets a revoked edge once the publishes under way for it are done: its retained desired state
   * is cleared on the broker (an empty retained message [MQTT-3.3.1-10], which every replica's
   * broker shares), and the ledger's keys for it go. Rejects if either fails.
   */
  async forget(edgeId: string): Promise<void> {
    const queue = this.queues.get(edgeId);
    if (queue) await (queue.next ?? queue.running).catch(() => {});
    this.last.delete(edgeId);
    await this.options.publish(topics.desired(edgeId), '', { qos: 1, retain: true });
    await this.options.ledger?.forget(edgeId);
  }

  /** Drops this replica's copy of `edgeId`'s last state (another replica revoked it). */
  forgetLocal(edgeId: string): void {
    this.last.delete(edgeId);
  }

  /** Resolves once every publish under way is done. */
  async idle(): Promise<void> {
    while (this.queues.size > 0) {
      await Promise.all([...this.queues.values()].map((q) => q.next ?? q.running));
    }
  }

  private settle(edgeId: string, queue: EdgeQueue): void {
    if (this.queues.get(edgeId) === queue && !queue.next) this.queues.delete(edgeId);
  }

  private async run(edgeId: string): Promise<number | undefined> {
    try {
      const { ledger } = this.options;
      const floor = Math.max(this.lastVersion, this.last.get(edgeId)?.message.version ?? 0);
      const published = ledger
        ? await ledger.exclusive(edgeId, floor, (version) => this.compose(edgeId, version))
        : await this.compose(edgeId, this.nextVersion());
      this.lastVersion = Math.max(this.lastVersion, published.message.version);
      this.last.set(edgeId, published);
      return published.message.version;
    } catch (err) {
      this.options.onError?.(edgeId, fromUnknown(err));
      return undefined;
    }
  }

  /** Reads `edgeId`'s state now and publishes it, retained, as `version`. */
  private async compose(edgeId: string, version: number): Promise<PublishedDesiredState> {
    const devices = await this.options.devices.listByEdge(edgeId);
    const routing = await this.options.routing?.(edgeId);
    const auditRate = await this.options.auditRate?.(edgeId);
    const deployment = await this.options.deployment?.(edgeId);
    const message: DesiredStateMessage = {
      version,
      devices: devices.map((d) => ({ id: d.id, tokenHash: d.tokenHash })),
      models: this.options.models(edgeId, deployment),
      ...(routing && { routing }),
      ...(auditRate !== undefined && { audit_rate: auditRate }),
      ...(deployment && { deployment }),
    };
    const payload = JSON.stringify(message);
    await this.options.publish(topics.desired(edgeId), payload, { qos: 1, retain: true });
    return { message, payload };
  }
}
