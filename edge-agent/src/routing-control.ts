/**
 * The edge's routing at run time (docs/edge-agent.md "Routing at run time"): the policy its own
 * requests are routed by, the policy it last published for its devices, and a bounded, in-memory
 * history of every change (when, old → new), one log line each. Policies are validated by the core
 * (`resolvePolicy`, `encodePolicyMessage`) before anything changes: an invalid one changes nothing.
 */
import {
  encodePolicyMessage,
  type PolicyMessage,
  type ResolvedPolicy,
  type RoutingPolicy,
  resolvePolicy,
  topics,
} from '@fogline/shared';
import type { AgentLogger } from './agent-options.ts';
import type { LocalBus } from './local-bus.ts';

export interface RoutingChange {
  /** Wall-clock time of the change. */
  readonly at: Date;
  /** 'edge': the edge's own routing; 'devices': the policy published for its devices. */
  readonly target: 'edge' | 'devices';
  /** The policy before (undefined: the devices had none from this edge yet). */
  readonly from: ResolvedPolicy | undefined;
  readonly to: ResolvedPolicy;
  /** For 'devices': the message's version, the device model it is for, its audit rate. */
  readonly version?: number;
  readonly model?: string;
  readonly auditRate?: number;
}

export interface DevicePolicyOptions {
  /** `name:version` of the device model the policy is for (devices running another one refuse it). */
  readonly model: string;
  /** Share of requests the devices audit, in [0, 1]. */
  readonly auditRate?: number;
}

/** Changes kept by `routingHistory()`, oldest dropped first. */
export const ROUTING_HISTORY_SIZE = 100;

export interface RoutingControlOptions {
  readonly edgeId: string;
  readonly initial: ResolvedPolicy;
  readonly logger: AgentLogger;
  /** Wall clock in ms (policy versions, history times). Default Date.now. */
  readonly now?: () => number;
  readonly historySize?: number;
}

const show = (p: ResolvedPolicy | undefined) => (p ? `${p.score} >= ${p.threshold}` : 'none');

export class RoutingControl {
  readonly #options: RoutingControlOptions;
  readonly #now: () => number;
  readonly #history: RoutingChange[] = [];
  readonly #listeners = new Set<(change: RoutingChange) => void>();
  #edge: ResolvedPolicy;
  #devices: PolicyMessage | undefined;
  /** Highest version handed out (published or not), so concurrent publishes never share one. */
  #lastVersion = 0;
  #pinned = false;

  constructor(options: RoutingControlOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#edge = options.initial;
  }

  /** The policy the edge routes its next request by. */
  get edge(): ResolvedPolicy {
    return this.#edge;
  }

  /** The last policy message published for the devices, if any. */
  get devices(): PolicyMessage | undefined {
    return this.#devices;
  }

  /**
   * Pinned on the edge: the routing set here stays, and policy directives from the cloud are refused
   * (an edge-local pin wins over the cloud's controller; docs/edge-agent.md "Routing at run time").
   */
  get pinned(): boolean {
    return this.#pinned;
  }

  pin(pinned: boolean): void {
    if (pinned === this.#pinned) return;
    this.#pinned = pinned;
    this.#options.logger.info(`routing: ${pinned ? 'pinned on the edge' : 'unpinned'}`);
  }

  /** Validates `raw` (INVALID_ARG, nothing changed) and makes it the edge's routing. */
  setEdge(raw: unknown): ResolvedPolicy {
    const policy = resolvePolicy(raw);
    const from = this.#edge;
    this.#edge = policy;
    this.#record({ at: new Date(this.#now()), target: 'edge', from, to: policy });
    this.#options.logger.info(`routing: edge policy ${show(from)} → ${show(policy)}`);
    return policy;
  }

  /**
   * The next policy message for the devices, validated and encoded; `commit` it once published. The
   * version is the wall clock in ms, and always above the last one, so a restarted edge moves forward.
   * `raw` undefined: an audit rate alone (required then), the devices keep the routing they apply.
   */
  prepareDevicePolicy(
    raw: unknown,
    options: DevicePolicyOptions,
  ): { message: PolicyMessage; payload: Uint8Array } {
    const message: PolicyMessage = {
      edge: this.#options.edgeId,
      version: Math.max(Math.floor(this.#now()), this.#lastVersion + 1),
      model: options.model,
      ...(raw !== undefined && { policy: resolvePolicy(raw) }),
      ...(options.auditRate !== undefined && { audit_rate: options.auditRate }),
    };
    const payload = encodePolicyMessage(message);
    this.#lastVersion = message.version;
    return { message, payload };
  }

  /**
   * Records a published device policy (a slower publish of an older version is recorded, not applied).
   * An audit rate sent alone changes no routing: logged, not in the history.
   */
  commitDevicePolicy(message: PolicyMessage): void {
    const from = this.#devices?.policy;
    if (this.#devices !== undefined && this.#devices.version > message.version) return;
    this.#devices = message;
    if (message.policy === undefined) {
      this.#options.logger.info(
        `routing: device audit rate for ${message.model} ${message.audit_rate} (v${message.version}), their own routing kept`,
      );
      return;
    }
    this.#record({
      at: new Date(this.#now()),
      target: 'devices',
      from,
      to: message.policy,
      version: message.version,
      model: message.model,
      ...(message.audit_rate !== undefined && { auditRate: message.audit_rate }),
    });
    const audit = message.audit_rate === undefined ? '' : `, audit rate ${message.audit_rate}`;
    this.#options.logger.info(
      `routing: device policy for ${message.model} ${show(from)} → ${show(message.policy)} (v${message.version}${audit})`,
    );
  }

  /** Calls `listener` after every change is recorded; returns its removal. */
  listen(listener: (change: RoutingChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Changes, oldest first. */
  history(): readonly RoutingChange[] {
    return [...this.#history];
  }

  #record(change: RoutingChange): void {
    this.#history.push(Object.freeze(change));
    const size = this.#options.historySize ?? ROUTING_HISTORY_SIZE;
    if (this.#history.length > size) this.#history.splice(0, this.#history.length - size);
    for (const listener of this.#listeners) {
      try {
        listener(change);
      } catch (err) {
        this.#options.logger.warn(`a routing listener failed: ${String(err)}`);
      }
    }
  }
}

/**
 * Publishes the devices' policy, retained, and records it once the broker has it; `policy` undefined
 * publishes `options.auditRate` alone.
 */
export async function publishDevicePolicyOn(
  bus: LocalBus,
  control: RoutingControl,
  edgeId: string,
  policy: RoutingPolicy | undefined,
  options: DevicePolicyOptions,
): Promise<PolicyMessage> {
  const { message, payload } = control.prepareDevicePolicy(policy, options);
  await bus.publish(topics.policy(edgeId), payload, { retain: true });
  control.commitDevicePolicy(message);
  return message;
}
