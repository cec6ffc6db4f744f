/**
 * The routing policy a device applies, and where it came from (docs/device-sdk.md "Policy from the
 * edge"): the `policy` option, the model's config, the default — or the edge, which may publish a
 * newer one on its policy topic at any time. A valid message for this device's edge and model, newer
 * than the one applied, replaces the policy from the next inference on; anything else is refused with
 * a reason and the policy in effect stays. A message without a policy (an audit rate alone, e.g. a
 * drift alarm's) leaves the routing as it is and takes the audit rate. With `pinPolicy` the
 * application's own policy always holds.
 */
import { type PolicyRefusal, type ResolvedPolicy, readPolicyMessage, topics } from '@fogline/shared';

export type PolicySource = 'default' | 'config' | 'option' | 'edge';

export interface DevicePolicy extends ResolvedPolicy {
  readonly source: PolicySource;
  /**
   * Version of the edge's last message applied: always there when `source` is 'edge'; with another
   * source, the edge has sent an audit rate alone.
   */
  readonly edgeVersion?: number;
  /** The audit rate the edge sent with it, if any (for the audits of later F7 pieces). */
  readonly auditRate?: number;
}

export type PolicyEvent =
  | { readonly kind: 'applied'; readonly policy: DevicePolicy; readonly previous: DevicePolicy }
  | { readonly kind: 'refused'; readonly code: PolicyRefusal | 'pinned'; readonly reason: string };

export interface PolicyInEffectOptions {
  readonly edgeId: string;
  /** `name:version` of the device model: the edge's policy must be for it. */
  readonly model: string;
  readonly pinned: boolean;
  readonly onEvent: (event: PolicyEvent) => void;
}

export class PolicyInEffect {
  readonly topic: string;
  #options: PolicyInEffectOptions;
  #current: DevicePolicy;
  /** The last payload read (the retained message comes again on every reconnect). */
  #lastPayload: Uint8Array | undefined;

  constructor(initial: DevicePolicy, options: PolicyInEffectOptions) {
    this.#current = Object.freeze({ ...initial });
    this.#options = options;
    this.topic = topics.policy(options.edgeId);
  }

  get current(): DevicePolicy {
    return this.#current;
  }

  /**
   * The device now runs `model` (a model update): the policy becomes `initial` (the `policy` option,
   * else the new config's), and the edge's last message is read again, for the new model.
   */
  switchModel(model: string, initial: DevicePolicy): void {
    this.#options = { ...this.#options, model };
    this.#current = Object.freeze({ ...initial });
    const last = this.#lastPayload;
    this.#lastPayload = undefined;
    if (last !== undefined) this.receive(last);
  }

  /** One message of the policy topic: applied, or refused (reported); never throws. */
  receive(payload: Uint8Array): void {
    if (this.#lastPayload !== undefined && sameBytes(payload, this.#lastPayload)) return;
    this.#lastPayload = payload.slice();
    const { edgeId, model, pinned, onEvent } = this.#options;
    const previous = this.#current;
    const reading = readPolicyMessage(payload, {
      edge: edgeId,
      model,
      ...(previous.edgeVersion !== undefined && { afterVersion: previous.edgeVersion }),
    });
    if (!reading.ok) {
      onEvent({ kind: 'refused', code: reading.code, reason: reading.reason });
      return;
    }
    if (pinned) {
      onEvent({ kind: 'refused', code: 'pinned', reason: 'the application pinned its policy (pinPolicy)' });
      return;
    }
    const { message } = reading;
    const auditRate = message.audit_rate ?? previous.auditRate;
    this.#current = Object.freeze({
      // No policy in the message: the routing in effect stays, wherever it came from.
      ...(message.policy ? { ...message.policy, source: 'edge' as const } : previous),
      edgeVersion: message.version,
      // A message without an audit rate leaves the one in effect.
      ...(auditRate !== undefined && { auditRate }),
    });
    onEvent({ kind: 'applied', policy: this.#current, previous });
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
