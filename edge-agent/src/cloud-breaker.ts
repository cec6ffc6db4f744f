/**
 * The edge's circuit breaker around the cloud tier (docs/design.md "Resilience"): the shared
 * CallBreaker (`@fogline/shared/resilience`, opossum) with its refusals naming the cloud. While open,
 * the edge answers locally, degraded; the timeout of each call is the request's remaining budget,
 * enforced by the CloudClient.
 */
import { type BreakerState, CallBreaker, type CallBreakerOptions } from '@fogline/shared/resilience';

export { BREAKER_DEFAULTS, type BreakerState } from '@fogline/shared/resilience';
export type CloudBreakerOptions = CallBreakerOptions;

export class CloudBreaker extends CallBreaker {
  constructor(options: CloudBreakerOptions = {}, onChange?: (state: BreakerState) => void) {
    super('cloud', options, onChange);
  }
}
