/**
 * The audit rate of an edge's devices (docs/field-accuracy.md "The audit rate"): the edge's own calm
 * rate (the `auditRate` option, `fogline edge --audit-rate`), the operator's from the cloud's desired
 * state (`audit_rate`, shared audit-rate.ts), which outranks it until cleared, and the drift alarm's
 * while the alarm is on (edge-drift.ts, which goes back to `calm()` when it clears). A calm rate that
 * changes while no alarm is on is published to the devices at once, with the routing policy last
 * published for them (they apply it without reconnecting); during an alarm it waits for the clear.
 */
import {
  type AuditRateInEffect,
  DEFAULT_AUDIT_RATE,
  fromUnknown,
  type PolicyMessage,
  type ResolvedPolicy,
  readAuditRate,
} from '@fogline/shared';
import type { AgentLogger } from './agent-options.ts';

export interface DeviceAuditRateOptions {
  /** The edge's own calm rate; undefined: none set (the devices keep theirs until an operator's). */
  readonly own: number | undefined;
  /** `name:version` of the devices' model; undefined: no rate can be published. */
  readonly model: string | undefined;
  /** The device policy this edge last published, if any. */
  readonly published: () => PolicyMessage | undefined;
  /** `policy` undefined: the audit rate alone. */
  readonly publish: (
    policy: ResolvedPolicy | undefined,
    options: { model: string; auditRate: number },
  ) => Promise<PolicyMessage>;
  /** Whether the drift alarm is on (its rate rules then). */
  readonly alarm: () => boolean;
  readonly logger: AgentLogger;
  /** Called once a change of the operator's rate is taken (the edge then reports it at once). */
  readonly onChange?: () => void;
}

export class DeviceAuditRate {
  readonly #o: DeviceAuditRateOptions;
  #operator: number | undefined;

  constructor(options: DeviceAuditRateOptions) {
    this.#o = options;
  }

  /** The calm rate set on purpose: the operator's, else the edge's own; undefined: neither. */
  calm(): number | undefined {
    return this.#operator ?? this.#o.own;
  }

  /**
   * What the devices were last sent (else the edge's own or the devices' default), and why: the
   * operator's only once it was sent (not while the devices' model is unknown or a publish failed).
   */
  inEffect(): AuditRateInEffect {
    const last = this.#o.published();
    const sent = last?.model === this.#o.model ? last?.audit_rate : undefined;
    const rate = sent ?? this.#o.own ?? DEFAULT_AUDIT_RATE;
    if (this.#o.alarm()) return { rate, source: 'drift-alarm' };
    return { rate, source: this.#operator !== undefined && sent === this.#operator ? 'operator' : 'edge' };
  }

  /** Publishes the edge's own rate, when one is set (at start); never rejects. */
  async start(): Promise<void> {
    if (this.#o.own !== undefined && !this.#o.alarm()) await this.#publish(this.#o.own);
  }

  /**
   * A desired state's `audit_rate`: undefined (none) goes back to the edge's own. Published at once
   * when it changes the calm rate and no drift alarm is on; a bad value is refused, logged, and
   * changes nothing. Never rejects.
   */
  async receive(raw: unknown): Promise<void> {
    const read = raw === undefined ? undefined : readAuditRate(raw);
    if (typeof read === 'string') {
      this.#o.logger.warn(`audit rate: refused the cloud's ${read}; keeping ${this.inEffect().rate}`);
      return;
    }
    if (read === this.#operator) return;
    const before = this.calm() ?? DEFAULT_AUDIT_RATE;
    this.#operator = read;
    const calm = this.calm() ?? DEFAULT_AUDIT_RATE;
    this.#o.logger.info(
      read === undefined
        ? `audit rate: the operator's rate cleared, back to the edge's own ${calm}`
        : `audit rate: the operator's ${read} (was ${before})`,
    );
    if (this.#o.alarm()) {
      this.#o.logger.info(`audit rate: the drift alarm's rate stays until it clears, then ${calm}`);
    } else {
      await this.#publish(calm);
    }
    this.#o.onChange?.();
  }

  async #publish(auditRate: number): Promise<void> {
    const { model, logger } = this.#o;
    if (model === undefined) {
      logger.warn(
        `audit rate: cannot send ${auditRate} to the devices: their model is not known to this edge (set the deviceModel option)`,
      );
      return;
    }
    const last = this.#o.published();
    const policy = last?.model === model ? last.policy : undefined;
    try {
      await this.#o.publish(policy, { model, auditRate });
    } catch (err) {
      logger.warn(`audit rate: could not publish ${auditRate}: ${fromUnknown(err).message}`);
    }
  }
}
