/** @fogline/shared/resilience: what guards calls to another server (the circuit breaker). */
export {
  BREAKER_DEFAULTS,
  type BreakerState,
  CallBreaker,
  type CallBreakerOptions,
} from './call-breaker.ts';
