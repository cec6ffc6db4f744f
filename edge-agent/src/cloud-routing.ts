/**
 * The edge's end of the cloud → edge policy channel (docs/edge-agent.md "Desired state"): reads the
 * desired state's `routing` block (shared `readRoutingDirective`), and applies it with the run-time
 * routing: `setEdge` for the edge's own stage, a device policy publish for its devices (they apply it
 * without reconnecting). Each directive id is applied once (the retained topic and the HTTP poll
 * deliver the same state again). Refused, logged and reported, with the current policy kept: a
 * malformed or out-of-range block, a score kind other than the one in use, no known device model, or
 * routing pinned on the edge (an edge-local pin wins over the cloud).
 */
import {
  type AuditRateInEffect,
  type CascadeBaseline,
  fromUnknown,
  type PolicyMessage,
  type ResolvedPolicy,
  readRoutingDirective,
  type ScoreKind,
} from '@fogline/shared';
import type { AgentLogger } from './agent-options.ts';
import type { RoutingTelemetry } from './edge-telemetry.ts';
import type { RoutingControl } from './routing-control.ts';

/** What the edge reports about the last directive (reported state, telemetry). */
export interface RoutingDirectiveStatus {
  /** The directive's id; undefined when the block was too malformed to have one. */
  readonly id: string | undefined;
  readonly applied: boolean;
  /** Why it was refused. */
  readonly refused?: string;
  /** When it was applied or refused (ISO 8601). */
  readonly at: string;
}

export interface CloudRoutingOptions {
  readonly control: RoutingControl;
  /** `name:version` of the devices' model, if known (the `deviceModel` option, else the drift block's). */
  readonly deviceModel: string | undefined;
  /** The devices' calibrated policy when the edge has published none yet (its score kind is expected). */
  readonly devicePolicy: ResolvedPolicy | undefined;
  /** The calibrated cascade's figures (the edge config's `drift.baseline`), reported for the controller. */
  readonly baseline?: CascadeBaseline | undefined;
  readonly publishDevices: (
    policy: ResolvedPolicy,
    options: { model: string; auditRate?: number },
  ) => Promise<PolicyMessage>;
  readonly logger: AgentLogger;
  readonly now?: () => Date;
  /** Called once a directive is applied or refused (the edge then reports it at once). */
  readonly onStatus?: () => void;
}

export class CloudRouting {
  readonly #o: CloudRoutingOptions;
  #last: RoutingDirectiveStatus | undefined;
  /** Applies one directive at a time. */
  #queue: Promise<void> = Promise.resolve();

  constructor(options: CloudRoutingOptions) {
    this.#o = options;
  }

  status(): RoutingDirectiveStatus | undefined {
    return this.#last;
  }

  /** The devices' policy in effect: the one last published, else the calibrated one. */
  get devicePolicy(): ResolvedPolicy | undefined {
    return this.#o.control.devices?.policy ?? this.#o.devicePolicy;
  }

  get baseline(): CascadeBaseline | undefined {
    return this.#o.baseline;
  }

  /** Reads and applies one routing block; never rejects. */
  receive(raw: unknown): Promise<void> {
    const run = this.#queue.then(() => this.#apply(raw));
    this.#queue = run.catch(() => {});
    return this.#queue;
  }

  async #apply(raw: unknown): Promise<void> {
    const { control, logger } = this.#o;
    const deviceScore: ScoreKind | undefined = this.devicePolicy?.score;
    const reading = readRoutingDirective(raw, { edge: control.edge.score, device: deviceScore });
    const id = reading.ok ? reading.directive.id : idOf(raw);
    if (id !== undefined && id === this.#last?.id) return;
    if (!reading.ok) return this.#refuse(id, reading.reason);
    const { directive } = reading;
    if (control.pinned) return this.#refuse(id, 'routing is pinned on this edge');
    const model = this.#o.deviceModel;
    if (model === undefined) {
      return this.#refuse(id, "the devices' model is not known to this edge (set the deviceModel option)");
    }
    try {
      control.setEdge(directive.edge);
      const auditRate = control.devices?.model === model ? control.devices.audit_rate : undefined;
      await this.#o.publishDevices(directive.device, {
        model,
        ...(auditRate !== undefined && { auditRate }),
      });
    } catch (err) {
      return this.#refuse(id, `could not apply it: ${fromUnknown(err).message}`);
    }
    this.#last = { id, applied: true, at: this.#now() };
    logger.info(`routing: applied the cloud's policy ${id} (${directive.reason})`);
    this.#o.onStatus?.();
  }

  #refuse(id: string | undefined, reason: string): void {
    this.#last = { id, applied: false, refused: reason, at: this.#now() };
    this.#o.logger.warn(
      `routing: refused the cloud's policy ${id ?? '(no id)'}: ${reason}; keeping the current one`,
    );
    this.#o.onStatus?.();
  }

  #now(): string {
    return (this.#o.now?.() ?? new Date()).toISOString();
  }
}

function idOf(raw: unknown): string | undefined {
  const id = typeof raw === 'object' && raw !== null ? (raw as { id?: unknown }).id : undefined;
  return typeof id === 'string' && id.length <= 64 ? id : undefined;
}

/** The routing part of the edge's telemetry: what the cloud's controller starts from. */
export function routingTelemetry(
  control: RoutingControl,
  cloud: CloudRouting,
  audit?: AuditRateInEffect,
): RoutingTelemetry {
  const device = cloud.devicePolicy;
  const baseline = cloud.baseline;
  const directive = cloud.status();
  return {
    edge: control.edge,
    ...(device && { device }),
    pinned: control.pinned,
    ...(directive?.applied && directive.id !== undefined && { directive: directive.id }),
    ...(baseline && { baseline }),
    ...(audit && { audit }),
  };
}
